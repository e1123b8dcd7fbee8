package server

import "time"

// SetInFlightWait shortens how long a request waits for room among the
// bodies in flight, so that tests of the 503 need not wait 5 s.
func SetInFlightWait(s *Server, d time.Duration) { s.bodies.wait = d }
