// Package registry resolves contract keys that Accord does not hold on disk.
//
// A Resolver asks the local contract.Set (the contracts directory, kept
// in memory and hot-reloaded by contract.Watcher) first, and then an ordered
// list of Backends, such as an Iglu repository over HTTP or a PostgreSQL
// table; the first backend that has the key wins. What the backends answer
// is cached: contracts for CacheOptions.TTL and misses for
// CacheOptions.NegativeTTL, in a cache bounded to CacheOptions.MaxEntries, so
// that an event's lookup is a map read and an unknown key does not cost a
// round trip per event.
package registry
