package server

import "time"

// SetInFlightWait shortens how long a request waits for room among the
// bodies in flight, and for a slot among the requests, so that tests of
// the 503 need not wait 5 s.
func SetInFlightWait(s *Server, d time.Duration) { s.bodies.wait, s.requests.wait = d, d }

// RoomHeld is the room held among the bodies in flight.
func RoomHeld(s *Server) int64 {
	s.bodies.mu.Lock()
	defer s.bodies.mu.Unlock()
	return s.bodies.used
}
