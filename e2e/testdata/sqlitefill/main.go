// Command sqlitefill writes records collected long ago into a sqlite
// sink's database, as an Accord without retention would have left it. The
// retention e2e test builds it without the race detector, which slows the
// embedded SQLite fortyfold, to fill a store of many batches quickly.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/sink/sqlite"
)

func main() {
	path := flag.String("path", "", "database file")
	n := flag.Int("n", 0, "records to write")
	age := flag.Duration("age", 48*time.Hour, "how long ago they were collected")
	flag.Parse()
	opts := *sqlite.NewOptions()
	opts.Path = *path
	s, err := sqlite.Open(context.Background(), opts, nil)
	if err != nil {
		log.Fatal(err)
	}
	at := time.Now().Add(-*age)
	for i := 0; i < *n; i += 1000 {
		recs := sinktest.Records(fmt.Sprintf("old%d", i), min(1000, *n-i))
		for _, r := range recs {
			r.CollectedAt = event.Time{Time: at}
		}
		if err := s.Write(context.Background(), recs); err != nil {
			log.Fatal(err)
		}
	}
	if err := s.Close(context.Background()); err != nil {
		log.Fatal(err)
	}
}
