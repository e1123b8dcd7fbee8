package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// trace records the order in which components start and stop.
type trace struct{ events []string }

func (tr *trace) component(name string, startErr error) Component {
	return Component{
		Name: name,
		Start: func(context.Context) error {
			if startErr != nil {
				tr.events = append(tr.events, "fail "+name)
				return startErr
			}
			tr.events = append(tr.events, "start "+name)
			return nil
		},
		Stop: func(context.Context) error {
			tr.events = append(tr.events, "stop "+name)
			return nil
		},
	}
}

func TestLifecycleOrder(t *testing.T) {
	tests := []struct {
		name      string
		failAt    string // component whose Start fails; "" for none
		wantStart []string
		wantAll   []string // after Stop
	}{
		{
			name:      "all start, stop in reverse",
			wantStart: []string{"start contracts", "start spool", "start delivery", "start servers"},
			wantAll:   []string{"start contracts", "start spool", "start delivery", "start servers", "stop servers", "stop delivery", "stop spool", "stop contracts"},
		},
		{
			name:      "a failed start stops those before it, in reverse, and no others",
			failAt:    "delivery",
			wantStart: []string{"start contracts", "start spool", "fail delivery", "stop spool", "stop contracts"},
			wantAll:   []string{"start contracts", "start spool", "fail delivery", "stop spool", "stop contracts"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &trace{}
			var l Lifecycle
			for _, name := range []string{"contracts", "spool", "delivery", "servers"} {
				var err error
				if name == tc.failAt {
					err = errors.New("disk full")
				}
				l.Add(tr.component(name, err))
			}
			err := l.Start(context.Background())
			if (err != nil) != (tc.failAt != "") {
				t.Fatalf("Start = %v", err)
			}
			if err != nil && !strings.Contains(err.Error(), "start "+tc.failAt+": disk full") {
				t.Errorf("Start error %q does not name the component", err)
			}
			if !slices.Equal(tr.events, tc.wantStart) {
				t.Errorf("after Start: %v, want %v", tr.events, tc.wantStart)
			}
			if err := l.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := l.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tr.events, tc.wantAll) {
				t.Errorf("after Stop (twice): %v, want %v", tr.events, tc.wantAll)
			}
		})
	}
}

// Every stop runs even when one fails, and the errors name their parts.
func TestLifecycleStopJoinsErrors(t *testing.T) {
	var stopped []string
	var l Lifecycle
	for _, name := range []string{"a", "b", "c"} {
		l.Add(Component{Name: name, Start: func(context.Context) error { return nil }, Stop: func(context.Context) error {
			stopped = append(stopped, name)
			if name == "b" {
				return errors.New("flush failed")
			}
			return nil
		}})
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := l.Stop(context.Background())
	if err == nil || err.Error() != "stop b: flush failed" {
		t.Errorf("Stop = %v, want stop b: flush failed", err)
	}
	if !slices.Equal(stopped, []string{"c", "b", "a"}) {
		t.Errorf("stopped %v, want c b a", stopped)
	}
}
