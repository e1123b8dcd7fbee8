package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

var errInvalid = errors.New("invalid JSON")

func stdDecode(b []byte) (any, error) {
	if !json.Valid(b) {
		return nil, errInvalid
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

var decodeSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0.5e+10`, `"x"`, `"esc\"aped\u00e9"`,
	`{"a": [1, 2.5, {"b": null}], "c": "d", "e": -12345678901234567890123}`,
	` { "a" : 1 } `, `{"a":1}x`, `{"a":}`, `[1,]`, `01`, `1.`, `"\xff"`, `{"a":1,"a":2}`, `"tab	in string"`, ``, `[`, `{"a" 1}`,
}

func TestDecodeValueMatchesEncodingJSON(t *testing.T) {
	for _, s := range decodeSeeds {
		t.Run(s, func(t *testing.T) { checkDecodeValue(t, []byte(s)) })
	}
}

func checkDecodeValue(t *testing.T, b []byte) {
	got, gotErr := DecodeValue(b)
	want, wantErr := stdDecode(b)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: error %v, encoding/json says %v", b, gotErr, wantErr)
	}
	if gotErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: decoded %#v, encoding/json decodes %#v", b, got, want)
	}
}

func FuzzDecodeValue(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeValue(t, b)
	})
}
