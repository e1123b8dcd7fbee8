package contract

// Reading an event's data once. A protocol's decoder used to check that
// the data is JSON (jsonscan.Value), and the compiled validator then read
// the same bytes again for the contract: two walks of every event (issue
// 15 point 3). CheckData lets the validator's walk be the syntax check too,
// for the events where it can say so for certain: the data is valid
// against the contract and its walk read every byte of it as
// jsonscan.Value reads them. Otherwise (not JSON, a repeated member name,
// nested too deeply, invalid, unsure, no compiled validator) it says
// nothing, and the decoder reads the data as before; so what a client sees
// is what it saw, byte for byte (FuzzCheckData, and the pipeline's
// FuzzCheckedDecode on whole requests).

// CheckBudget is the re-reading budget (see fastWalk) for the CheckData
// calls of one request of n bytes: all of them share it, so a request of
// many events whose contract reads values again and again costs work
// linear in its size, as each ValidateJSON does. Once it is spent,
// CheckData says nothing and each event is read as before.
func CheckBudget(n int) int { return n*fastBudgetPerByte + fastBudgetBase }

// CheckData reads the JSON value at b[i] as an event's data and validates
// it against the contract, in one walk. ok is true only when the value is
// JSON that jsonscan.ValueIn(b, i, 0) reads without error to end (no
// repeated member name, no number beyond float64, nested at most
// jsonscan.MaxDepth deep) and is valid against the contract: what
// ValidateJSON(b[i:end]) would find valid. When ok is false nothing is
// known and the caller reads and validates the data as it would have.
//
// utf8Valid vouches that b[i:] is valid UTF-8 (a decoder that checked the
// whole body once), which spares the check of each string. budget is the
// request's CheckBudget; the walk takes what it re-reads from it.
func (c *Contract) CheckData(b []byte, i int, utf8Valid bool, budget *int) (end int, ok bool) {
	fast := c.validators().fast
	if fast == nil || i >= len(b) || *budget <= 0 {
		return 0, false
	}
	w := fastWalk{budget: *budget, strict: true, utf8ok: utf8Valid}
	end, v := fast.check(&w, b, i)
	*budget = w.budget
	if end < 0 || v != fastValid {
		return 0, false
	}
	return end, true
}

// Exact returns the contract whose key, written as Key.String() writes it
// (iglu:vendor/name/jsonschema/M-R-A), is key; nil when none is. Unlike
// Resolve it neither parses a key in another form nor remembers a miss,
// so a decoder may ask it about every event's key, whatever clients send.
func (r *Set) Exact(key string) *Contract {
	if r == nil {
		return nil
	}
	return r.current.Load().byKey[key]
}
