package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
)

// Publisher sends contracts to a registry's write API: an accord serve with
// contracts.api_keys, or an iglu-server.
type Publisher struct {
	Client *http.Client
	// Base is the registry's base URL; the API is under /api/.
	Base string
	// Key is sent in the apikey header.
	Key string
}

// Outcome is what became of one contract: Created, unchanged (neither field
// set), or Refused.
type Outcome struct {
	Created bool
	Refused *Refusal
}

// Refusal is a registry's refusal: its status and the reasons its body
// gives (accord serve's; an iglu-server's message lands in Message).
type Refusal struct {
	Status  string        `json:"-"`
	Error   string        `json:"error"`
	Message string        `json:"message"`
	Steps   []compat.Step `json:"steps"`
	Gaps    []compat.Gap  `json:"gaps"`
	// Body is the answer as sent, for registries that say why otherwise.
	Body string `json:"-"`
}

// Reason is the refusal's explanation in one line.
func (r *Refusal) Reason() string {
	switch {
	case r.Error != "":
		return r.Error
	case r.Message != "":
		return r.Message
	}
	return r.Body
}

// SortForPublishing orders contracts by contract, then by SchemaVer, so that
// every version reaches a registry after the one before it.
func SortForPublishing(contracts []*contract.Contract) {
	sort.Slice(contracts, func(i, j int) bool {
		a, b := contracts[i].Key, contracts[j].Key
		if ida, idb := a.Vendor+"/"+a.Name+"/"+a.Format, b.Vendor+"/"+b.Name+"/"+b.Format; ida != idb {
			return ida < idb
		}
		return compat.Less(a.Version, b.Version)
	})
}

// Publish sends one contract unless the registry already holds it with the
// same document. The error is for a registry that could not be asked; a
// refusal is in the Outcome.
func (p *Publisher) Publish(ctx context.Context, c *contract.Contract) (Outcome, error) {
	loc := strings.TrimRight(p.Base, "/") + "/api/schemas/" + c.Key.Path()
	status, body, err := p.do(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return Outcome{}, err
	}
	switch {
	case status == http.StatusOK && contract.SameDocument(body, c.Document):
		return Outcome{}, nil
	case status != http.StatusOK && status != http.StatusNotFound:
		return Outcome{Refused: refusalOf(status, body)}, nil
	}
	// Absent, or present with another document: the registry says why it
	// refuses the latter.
	status, body, err = p.do(ctx, http.MethodPut, loc, c.Document)
	if err != nil {
		return Outcome{}, err
	}
	switch status {
	case http.StatusCreated:
		return Outcome{Created: true}, nil
	case http.StatusOK:
		return Outcome{}, nil
	}
	return Outcome{Refused: refusalOf(status, body)}, nil
}

func (p *Publisher) do(ctx context.Context, method, loc string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, loc, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("apikey", p.Key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("read the answer to %s %s: %w", method, loc, err)
	}
	return resp.StatusCode, b, nil
}

func refusalOf(status int, body []byte) *Refusal {
	r := &Refusal{}
	if err := json.Unmarshal(body, r); err != nil {
		r = &Refusal{}
	}
	r.Status = fmt.Sprintf("%d %s", status, http.StatusText(status))
	r.Body = strings.TrimSpace(string(body))
	return r
}
