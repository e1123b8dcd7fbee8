package catalog

import (
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink/file"
	"github.com/accord-events/accord/internal/sink/httpsink"
	"github.com/accord-events/accord/internal/sink/kafka"
	"github.com/accord-events/accord/internal/sink/mqtt"
	"github.com/accord-events/accord/internal/sink/mysql"
	"github.com/accord-events/accord/internal/sink/nats"
	"github.com/accord-events/accord/internal/sink/postgres"
	"github.com/accord-events/accord/internal/sink/rabbitmq"
	"github.com/accord-events/accord/internal/sink/redis"
	"github.com/accord-events/accord/internal/sink/s3"
	"github.com/accord-events/accord/internal/sink/sqlite"
	"github.com/accord-events/accord/internal/sink/tables"
)

// SinkOf describes a configured sink for the catalog from its name, its
// records selection (all, good or failed) and its decoded options (as
// internal/app's DecodeSinks gives them). Every name comes from the sink's
// own naming function (tables.TableName with the sink's dialect,
// kafka.ContractTopic, nats.ContractSubject, ...), so the catalog names
// what the sink really writes. ok is false for a sink of failed records
// only: no good event lands there.
func SinkOf(name, typ, records string, options any) (Sink, bool) {
	if records == "failed" {
		return Sink{}, false
	}
	one := func(kind, where string) []Place { return []Place{{Sink: name, Type: typ, Kind: kind, Name: where}} }
	var places func(c *contract.Contract) []Place
	switch o := options.(type) {
	case *postgres.Options:
		places = func(c *contract.Contract) []Place {
			out := one("table", o.Schema+"."+o.RawTable)
			if t := typedTable(postgres.Dialect{}, c); t != "" && o.Tables != postgres.TablesOff {
				out = append(out, one("table", o.Schema+"."+t)...)
			}
			return out
		}
	case *mysql.Options:
		db := mysql.Database(o.DSN)
		qualify := func(t string) string {
			if db == "" {
				return t
			}
			return db + "." + t
		}
		places = func(c *contract.Contract) []Place {
			out := one("table", qualify(o.RawTable))
			if t := typedTable(mysql.Dialect{}, c); t != "" && o.Tables != mysql.TablesOff {
				out = append(out, one("table", qualify(t))...)
			}
			return out
		}
	case *sqlite.Options:
		places = func(c *contract.Contract) []Place {
			out := one("table", o.GoodTable)
			if t := typedTable(sqlite.Dialect{}, c); t != "" && o.Tables != sqlite.TablesOff {
				out = append(out, one("table", t)...)
			}
			return out
		}
	case *kafka.Options:
		places = func(c *contract.Contract) []Place {
			if o.TopicPerContract {
				return one("topic", kafka.ContractTopic(o.Topic, c.Key.Vendor, c.Key.Name, c.Version))
			}
			return one("topic", o.Topic)
		}
	case *nats.Options:
		places = func(c *contract.Contract) []Place {
			return one("subject", nats.ContractSubject(o.SubjectPrefix, c.Key.Vendor, c.Key.Name, c.Version))
		}
	case *redis.Options:
		places = func(c *contract.Contract) []Place {
			if o.StreamPerContract {
				return one("stream", redis.ContractStream(o.Stream, c.Key.Vendor, c.Key.Name, c.Version))
			}
			return one("stream", o.Stream)
		}
	case *mqtt.Options:
		places = func(c *contract.Contract) []Place {
			return one("topic", mqtt.ContractTopic(o.TopicPrefix, c.Key.Vendor, c.Key.Name, c.Version))
		}
	case *rabbitmq.Options:
		places = func(c *contract.Contract) []Place {
			key := rabbitmq.RoutingKey(&event.Envelope{Valid: true, Vendor: c.Key.Vendor, Name: c.Key.Name, Version: c.Version})
			return one("routing_key", o.Exchange+" "+key)
		}
	case *s3.Options:
		places = func(c *contract.Contract) []Place {
			return one("objects", "s3://"+o.Bucket+"/"+s3.ContractPrefix(o.Prefix, c.Key.Vendor, c.Key.Name, c.Version))
		}
	case *file.Options:
		places = func(*contract.Contract) []Place { return one("file", o.GoodPath) }
	case *httpsink.Options:
		// The endpoint may carry credentials: never name them.
		places = func(*contract.Contract) []Place { return one("endpoint", redact.URL(o.URL)) }
	default:
		places = func(*contract.Contract) []Place { return one("sink", "") }
	}
	return Sink{Name: name, Type: typ, Places: places}, true
}

// typedTable is the typed table a sink of dialect d keeps for c's MODEL,
// as tables.FromContract names it; "" when c gets none (its events are
// not objects).
func typedTable(d tables.Dialect, c *contract.Contract) string {
	t, err := tables.FromContract(d, c, nil, tables.DefaultOptions())
	if err != nil {
		return ""
	}
	return t.Name
}
