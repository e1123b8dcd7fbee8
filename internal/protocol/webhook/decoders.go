package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

// Path is the route of every webhook source.
const Path = "/webhooks/{source}"

// Decoders receives the deliveries of the configured webhook sources. Its
// Handle is a protocol.Decoder.
type Decoders struct {
	sources map[string]Source
	now     func() time.Time
}

// NewDecoders returns the decoders for validated sources.
func NewDecoders(sources []Source) *Decoders {
	c := &Decoders{sources: make(map[string]Source, len(sources)), now: time.Now}
	for _, s := range sources {
		c.sources[s.Name] = s
	}
	return c
}

// Handle reads one delivery to POST /webhooks/{source}. A source that is
// not configured, and a missing or bad signature, refuse the request: it is
// answered (404, 401) and counted, and nothing of it is stored.
func (c *Decoders) Handle(req *protocol.Request) ([]event.Input, *protocol.Reply, error) {
	name := req.PathValue("source")
	src, ok := c.sources[name]
	if !ok {
		return nil, nil, protocol.Refusef(http.StatusNotFound, "unknown_source",
			"no webhook source %q is configured; add it to protocols.webhooks", name)
	}
	if err := Verify(src.Signature, req.Header, req.Body, c.now()); err != nil {
		if errors.Is(err, ErrSignature) {
			return nil, nil, protocol.Refusef(http.StatusUnauthorized, "bad_signature", "%v", err)
		}
		return nil, nil, protocol.Refusef(http.StatusInternalServerError, "signature_config", "%s", fmt.Sprintf("the signature of source %s cannot be checked: %v", name, err))
	}
	inputs, err := Decode(req, src)
	return inputs, nil, err
}
