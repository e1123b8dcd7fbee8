package server

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Options configures the HTTP collector (the server section of the
// configuration). Its fields carry yaml and doc tags: the configuration
// reference is generated from them.
type Options struct {
	Addr                string        `yaml:"addr" doc:"Address to listen on, host:port; an empty host listens on every interface."`
	MaxBodyBytes        int64         `yaml:"max_body_bytes" doc:"Largest request body accepted, in bytes, after gzip decompression; larger requests get 413 and are stored as size_violation records holding their first KiB."`
	MaxEventsPerRequest int           `yaml:"max_events_per_request" doc:"Most events one request may carry (a batch, an array, NDJSON lines); a request with more gets 413 and is stored as one size_violation record holding its body. It bounds the records, and so the memory and storage, one request can cause."`
	MaxBytesInFlight    int64         `yaml:"max_bytes_in_flight" doc:"Most bytes of request bodies the collector reads and handles at once, over all connections: it bounds the memory that many clients sending large requests together can make it take. A request reserves its Content-Length before its body is read, and gives it back once answered; one that announces none or is gzip-compressed reserves 64 KiB (at most max_body_bytes) before its body is read and, each time what it has read (decompressed) fills that, as much again, at most max_body_bytes. A request that finds no room within 5 s of its arrival is answered 503 with Retry-After, and nothing of it is stored; when bodies of unknown size fill the room and each waits for more, the youngest is answered 503 at once so that the older go on. Requests without a body (GET) reserve nothing. Must be at least max_body_bytes."`
	MaxRequestsInFlight int           `yaml:"max_requests_in_flight" doc:"Most requests with a body the collector reads and handles at once, over all connections; 0 (the default) is 32 for each CPU the Go runtime uses (GOMAXPROCS), 64 on two cores. While it is decoded and processed a request holds, beside its body, its records and their spool frames, some ten times its body (its frames alone while it waits for the spool to make them durable), so this bounds the memory that many clients sending at once make the collector take where max_bytes_in_flight alone does not: 256 connections sending 100-event requests of 26-33 KB took it to about 250 MiB without it, and 75-81 MiB with 64. A request takes a slot before its body is read and gives it back once answered; one that finds none free within 5 s of its arrival (counted together with its wait for max_bytes_in_flight) is answered 503 with Retry-After, and nothing of it is stored. Requests without a body (GET) take none. A request holds its slot while the spool makes it durable, so a slot is also what one request's fsync takes: with slow disks, many single-event clients need more slots, not fewer."`
	MaxSourceFieldBytes int           `yaml:"max_source_field_bytes" doc:"Longest User-Agent, Referer, Origin and path kept on a record (source.user_agent, source.referer, source.origin, source.path), in bytes; longer values are cut at a character boundary. They are copied into every record of a request, so this bounds what a request's headers can store."`
	ReadHeaderTimeout   time.Duration `yaml:"read_header_timeout" doc:"How long a client may take to send request headers."`
	ReadTimeout         time.Duration `yaml:"read_timeout" doc:"How long a client may take to send a whole request."`
	WriteTimeout        time.Duration `yaml:"write_timeout" doc:"How long handling a request and writing its response may take."`
	IdleTimeout         time.Duration `yaml:"idle_timeout" doc:"How long an idle keep-alive connection is kept open."`
	LameDuck            time.Duration `yaml:"lame_duck" doc:"On SIGTERM or SIGINT, how long the collector keeps serving while GET /readyz answers 503, so that a load balancer stops sending it events before it stops accepting connections; 0 stops accepting at once. Set it to at least the load balancer's readiness-probe interval times its failure threshold."`
	ShutdownTimeout     time.Duration `yaml:"shutdown_timeout" doc:"On SIGTERM or SIGINT, once the lame-duck period is over, how long in-flight requests get to finish before the server stops."`
	TrustForwarded      bool          `yaml:"trust_forwarded" doc:"Take the client IP from X-Forwarded-For (first address) when Accord runs behind a proxy you control; leave off when clients reach Accord directly, or they can forge it."`
	MemoryHeadroom      int64         `yaml:"memory_headroom" doc:"When not 0, accord serve and accord load set the Go runtime's soft memory limit to the memory the process holds once started (contracts loaded) plus this many bytes, such as 33554432 (32 MiB): the garbage collector then runs sooner under load instead of letting the heap grow to twice its live data. It trades CPU for memory, and is worth it only while the live data stays well below the limit: at 32 connections of 100-event batches 32 MiB cut the peak RSS from about 80 MiB to about 69 MiB for about 3 % more of the CPU spent collecting, and 24 MiB to about 60 MiB for about a third more server CPU per event; at 64 connections, whose data in flight nearly fills 32 MiB, the server spent 2 to 3 times the CPU per event (docs/performance-log.md). 0 (the default) sets no limit. The limit is soft: the process may still exceed it. The GOMEMLIMIT environment variable, when set, wins over this key."`
	CORSOrigins         []string      `yaml:"cors_origins" doc:"Web origins browsers may send events from (CORS, on the collection routes only), such as https://shop.example: a listed origin is echoed with credentials allowed (cookies, as Snowplow's browser tracker sends); * answers any other origin with Access-Control-Allow-Origin: * and no credentials; without *, a request from an origin not on the list is refused with 403 and not stored (requests without an Origin header, from servers and curl, always pass); an empty list turns CORS off."`
}

// DefaultOptions returns the options the collector runs with when the
// configuration sets none.
func DefaultOptions() Options {
	return Options{
		Addr:                ":8080",
		MaxBodyBytes:        1 << 20,
		MaxEventsPerRequest: 500,
		MaxBytesInFlight:    16 << 20,
		MaxSourceFieldBytes: 1024,
		ReadHeaderTimeout:   5 * time.Second,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        30 * time.Second,
		IdleTimeout:         2 * time.Minute,
		LameDuck:            5 * time.Second,
		ShutdownTimeout:     15 * time.Second,
		CORSOrigins:         []string{"*"},
	}
}

// Validate returns every problem at once, each naming its key relative to
// the server section and the fix.
func (o Options) Validate() error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		bad("addr", "%q is not host:port (%v); use something like :8080 or 127.0.0.1:8080", o.Addr, err)
	}
	if o.MaxBodyBytes < 1024 {
		bad("max_body_bytes", "%d is too small; use at least 1024 (the default is 1048576)", o.MaxBodyBytes)
	}
	if o.MaxBytesInFlight < o.MaxBodyBytes {
		bad("max_bytes_in_flight", "%d is less than max_body_bytes (%d), so the largest request allowed could never be handled; set it to at least max_body_bytes (the default is 16777216)", o.MaxBytesInFlight, o.MaxBodyBytes)
	}
	if o.MaxRequestsInFlight < 0 {
		bad("max_requests_in_flight", "%d is negative; use 0 (32 for each CPU, the default) or the most requests to handle at once", o.MaxRequestsInFlight)
	}
	if o.MaxEventsPerRequest < 1 {
		bad("max_events_per_request", "%d is too small; use at least 1 (the default is 500)", o.MaxEventsPerRequest)
	}
	if o.MemoryHeadroom != 0 && (o.MemoryHeadroom < 4<<20 || o.MemoryHeadroom > 1<<40) {
		bad("memory_headroom", "%d is out of range; use 0 (no limit) or 4194304 (4 MiB) to 1099511627776 (1 TiB); such as 33554432 (32 MiB); the default is 0", o.MemoryHeadroom)
	}
	if o.MaxSourceFieldBytes < 64 {
		bad("max_source_field_bytes", "%d is too small; use at least 64 (the default is 1024)", o.MaxSourceFieldBytes)
	}
	for _, d := range []struct {
		key string
		d   time.Duration
	}{
		{"read_header_timeout", o.ReadHeaderTimeout},
		{"read_timeout", o.ReadTimeout},
		{"write_timeout", o.WriteTimeout},
		{"idle_timeout", o.IdleTimeout},
		{"shutdown_timeout", o.ShutdownTimeout},
	} {
		if d.d <= 0 {
			bad(d.key, "%s must be positive, such as 10s", d.d)
		}
	}
	if o.LameDuck < 0 {
		bad("lame_duck", "%s must not be negative; use 0 to stop accepting at once, or a period such as 5s", o.LameDuck)
	}
	for i, origin := range o.CORSOrigins {
		if origin != "*" && (!strings.HasPrefix(origin, "http://") && !strings.HasPrefix(origin, "https://") || strings.HasSuffix(origin, "/")) {
			bad(fmt.Sprintf("cors_origins[%d]", i), "%q is not an origin; write scheme and host (and port), such as https://shop.example, or * for any", origin)
		}
	}
	return errors.Join(errs...)
}
