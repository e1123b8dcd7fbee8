package protocol_test

import (
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/cloudevents"
	"github.com/accord-events/accord/internal/protocol/pixel"
	"github.com/accord-events/accord/internal/protocol/segment"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/protocol/snowplow"
	"github.com/accord-events/accord/internal/protocol/webhook"
)

func shipped() *protocol.Types {
	return protocol.NewTypes(selfdesc.Type(), cloudevents.Type(), snowplow.Type(), segment.Type(), webhook.Type(), pixel.Type())
}

// Every protocol type Accord ships holds to what the configuration and the
// server rely on: defaults that validate, a key and a doc for the
// reference, options whose fields carry their keys, and routes written
// under the type's name that no other type claims (the mux would panic).
func TestShippedTypes(t *testing.T) {
	deps := protocol.Deps{Contracts: contract.NewSet(nil), Local: contract.NewSet(nil), Counters: &protocol.Counters{}}
	keys := map[string]string{}
	routes := map[string]string{}
	for _, typ := range shipped().All() {
		t.Run(typ.Name, func(t *testing.T) {
			if typ.Name == "" || typ.Doc == "" || !strings.HasSuffix(typ.Doc, ".") {
				t.Errorf("name %q doc %q: both are needed, the doc a sentence", typ.Name, typ.Doc)
			}
			if other, dup := keys[typ.ConfigKey()]; dup {
				t.Errorf("configuration key %q is also %s's", typ.ConfigKey(), other)
			}
			keys[typ.ConfigKey()] = typ.Name
			if got, ok := shipped().Lookup(typ.Name); !ok || got.Name != typ.Name {
				t.Errorf("Lookup(%q) = %v, %v", typ.Name, got.Name, ok)
			}
			opts := typ.NewOptions()
			if err := opts.Validate(); err != nil {
				t.Errorf("defaults do not validate: %v", err)
			}
			for _, ep := range typ.Endpoints(opts, deps) {
				if ep.Protocol != typ.Name || ep.Decode == nil || !strings.HasPrefix(ep.Path, "/") {
					t.Errorf("endpoint %+v: want protocol %q, a decoder and an absolute path", ep, typ.Name)
				}
				if other, dup := routes[ep.Path]; dup {
					t.Errorf("route %s is also %s's", ep.Path, other)
				}
				routes[ep.Path] = typ.Name
			}
		})
	}
	for _, path := range []string{"/events", "/cloudevents", "/i", "/com.snowplowanalytics.snowplow/tp2", "/r/tp2", "/v1/{call}", "/px", "/px/{vendor}/{name}/{version}"} {
		if routes[path] == "" {
			t.Errorf("no type serves %s by default", path)
		}
	}
	if routes[webhook.Path] != "" {
		t.Errorf("webhooks served with no source configured")
	}
}

// A protocol turned off in its options serves no route; webhooks are on once
// a source is listed.
func TestEndpointsFollowOptions(t *testing.T) {
	deps := protocol.Deps{Contracts: contract.NewSet(nil), Local: contract.NewSet(nil), Counters: &protocol.Counters{}}
	off := map[string]protocol.Options{
		selfdesc.Name:    &selfdesc.Options{},
		cloudevents.Name: &cloudevents.Options{},
		snowplow.Name:    &snowplow.Options{},
		segment.Name:     &segment.Options{},
		pixel.Name:       &pixel.Options{},
		webhook.Name:     &webhook.Sources{},
	}
	for _, typ := range shipped().All() {
		if eps := typ.Endpoints(off[typ.Name], deps); len(eps) != 0 {
			t.Errorf("%s turned off serves %d routes", typ.Name, len(eps))
		}
	}
	hook, _ := shipped().Lookup(webhook.Name)
	eps := hook.Endpoints(&webhook.Sources{{Name: "github", Arbitrary: true}}, deps)
	if len(eps) != 1 || eps[0].Path != webhook.Path {
		t.Errorf("webhook endpoints %+v; want one at %s", eps, webhook.Path)
	}
	sp, _ := shipped().Lookup(snowplow.Name)
	o := snowplow.DefaultOptions()
	o.Paths = []string{"/com.acme/track"}
	if eps := sp.Endpoints(&o, deps); len(eps) != 4 || eps[3].Path != "/com.acme/track" {
		t.Errorf("snowplow with a custom path: %+v", eps)
	}
}
