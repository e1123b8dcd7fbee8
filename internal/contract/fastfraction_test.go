package contract

import (
	"math/big"
	"testing"

	"github.com/accord-events/accord/internal/jsonscan"
)

var fractionSeeds = []string{
	"89.95", "4.5", "0.5", "-0.5", "-0.0", "0.0", "5.000", "-5.000", "-5.001", "-4.999", "1", "-1", "1e2", "1.5e1",
	"123456789012345.5", "1234567890123456.5", "-123456789012345.9", "0.000000000000000000001", "-0.00000000000000000001",
	"100.0", "9.99999999999999999999999", "-9.99999999999999999999999",
}

// plainFractionFloor agrees with exact arithmetic on every number it takes,
// and takes every fraction without exponent of at most maxIntDigits
// integer digits.
func checkFractionFloor(t *testing.T, s string) {
	b := []byte(s)
	end, plainInt, err := jsonscan.Number(b, 0)
	if err != nil || end != len(b) {
		return
	}
	floor, exact, ok := plainFractionFloor(b)
	r, _ := new(big.Rat).SetString(s)
	fraction := !plainInt && !containsAny(s, "eE")
	intDigits := len(s)
	for k, c := range s {
		if c == '.' {
			intDigits = k
			break
		}
	}
	if s[0] == '-' {
		intDigits--
	}
	if want := fraction && intDigits <= maxIntDigits; ok != want {
		t.Fatalf("plainFractionFloor(%q) ok = %v, want %v", s, ok, want)
	}
	if !ok {
		return
	}
	// floor: the greatest integer not above r.
	q := new(big.Int).Quo(r.Num(), r.Denom()) // truncated toward zero
	if r.Sign() < 0 && !r.IsInt() {
		q.Sub(q, big.NewInt(1))
	}
	if !q.IsInt64() || q.Int64() != floor || exact != r.IsInt() {
		t.Fatalf("plainFractionFloor(%q) = %d, %v; want %s, %v", s, floor, exact, q, r.IsInt())
	}
}

func containsAny(s, chars string) bool {
	for _, c := range s {
		for _, d := range chars {
			if c == d {
				return true
			}
		}
	}
	return false
}

func TestPlainFractionFloor(t *testing.T) {
	for _, s := range fractionSeeds {
		checkFractionFloor(t, s)
	}
}

func FuzzPlainFractionFloor(f *testing.F) {
	for _, s := range fractionSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s != "" {
			checkFractionFloor(t, s)
		}
	})
}
