package pixel

import (
	"net/url"
	"testing"
)

// benchQuery is a typical e-mail open: eight parameters, one of them
// reserved and two converted to numbers, one to a boolean and one to an
// array of integers.
const benchQuery = "eid=6f1b7c1e-8a57-4a8e-9a67-2a1f5d7d9c10&campaign=spring_sale&recipients=1250&score=0.87" +
	"&first_open=true&segments=3&segments=17&utm_source=newsletter&utm_medium=email"

func benchValues(b *testing.B) url.Values {
	b.Helper()
	q, err := url.ParseQuery(benchQuery)
	if err != nil || len(q) != 8 {
		b.Fatalf("ParseQuery: %v, %d parameters", err, len(q))
	}
	return q
}

// BenchmarkDecodeTyped measures a hit decoded with a Coercer the server has
// kept for the contract.
func BenchmarkDecodeTyped(b *testing.B) {
	co := NewCoercer(compile(b, emailOpened))
	q := benchValues(b)
	b.ReportAllocs()
	for b.Loop() {
		if in := co.Decode(q); in.Failure != nil || len(in.Data) == 0 {
			b.Fatalf("Decode: %+v", in)
		}
	}
}

func BenchmarkDecodeArbitrary(b *testing.B) {
	q := benchValues(b)
	b.ReportAllocs()
	for b.Loop() {
		if in := DecodeArbitrary(q); in.Failure != nil || len(in.Data) == 0 {
			b.Fatalf("DecodeArbitrary: %+v", in)
		}
	}
}

// BenchmarkNewCoercer measures reading a contract's properties, the cost
// keeping a Coercer per contract saves on every hit.
func BenchmarkNewCoercer(b *testing.B) {
	c := compile(b, emailOpened)
	b.ReportAllocs()
	for b.Loop() {
		NewCoercer(c)
	}
}
