package contract

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrRefOutsideRegistry is wrapped by the compile error of a contract whose
// $ref (or $schema) names something outside Accord's registry: a file, a URL
// of any other site, or a contract the registry does not hold.
var ErrRefOutsideRegistry = errors.New("$ref outside the registry")

// Documents looks up the stored document of another contract, so that a
// $ref from one contract to another resolves within the registry. It never
// reaches a file or the network on behalf of a contract author.
type Documents func(Key) ([]byte, bool)

// igluCentralPrefix is the URL form of a schema key on Iglu Central (and in
// Iglu static repositories): http://iglucentral.com/schemas/vendor/name/jsonschema/M-R-A.
const igluCentralPrefix = "iglucentral.com/schemas/"

// RefKey returns the contract key a $ref URL names, in either of the forms
// a contract may use for another contract: iglu:vendor/name/jsonschema/M-R-A
// or http(s)://iglucentral.com/schemas/vendor/name/jsonschema/M-R-A.
func RefKey(url string) (Key, bool) {
	url, _, _ = strings.Cut(url, "#")
	var path string
	switch {
	case strings.HasPrefix(url, "iglu:"):
		path = url
	case strings.HasPrefix(url, "http://"+igluCentralPrefix):
		path = strings.TrimPrefix(url, "http://"+igluCentralPrefix)
	case strings.HasPrefix(url, "https://"+igluCentralPrefix):
		path = strings.TrimPrefix(url, "https://"+igluCentralPrefix)
	default:
		return Key{}, false
	}
	k, err := ParseKey(path)
	return k, err == nil
}

// registryLoader is the only loader a contract's compiler has: it answers
// with other contracts of the registry and refuses everything else. The
// schema library's default loader reads file:// URLs, which would let a
// registry write read, probe or block on (a FIFO) the server's files.
type registryLoader struct {
	docs Documents
}

func (l registryLoader) Load(url string) (any, error) {
	k, ok := RefKey(url)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not another contract; a $ref may point within the contract (\"#/...\") or to a contract as iglu:vendor/name/jsonschema/M-R-A or http://iglucentral.com/schemas/vendor/name/jsonschema/M-R-A", ErrRefOutsideRegistry, shortRef(url))
	}
	if l.docs == nil {
		return nil, fmt.Errorf("%w: %s: contracts can refer to other contracts only when loaded from the contracts directory or written through the registry API", ErrRefOutsideRegistry, k)
	}
	doc, ok := l.docs(k)
	if !ok {
		return nil, fmt.Errorf("%w: no contract %s in the registry; add it first", ErrRefOutsideRegistry, k)
	}
	v, err := DecodeValue(doc)
	if err != nil {
		return nil, fmt.Errorf("referenced contract %s: %w", k, err)
	}
	return v, nil
}

// shortRef keeps an error about a refused $ref short: the ref is the
// author's own text, but it can be long.
func shortRef(url string) string {
	const max = 200
	if len(url) > max {
		return fmt.Sprintf("%q...", url[:max])
	}
	return fmt.Sprintf("%q", url)
}

// DirDocuments looks contracts up by key in a contracts directory, laid out
// as LoadDir expects, so $refs between the directory's contracts resolve.
// A key whose vendor or name is a dot path ("..") names no file: a $ref
// such as iglu:../secret/jsonschema/1-0-0 must not read beside the
// directory.
func DirDocuments(dir string) Documents {
	return func(k Key) ([]byte, bool) {
		if k.CheckFilePath() != nil {
			return nil, false
		}
		base := filepath.Join(dir, k.Vendor, k.Name, k.Format, k.Version.String())
		for _, p := range []string{base, base + ".json"} {
			if doc, err := ReadContractFile(p); err == nil {
				return doc, true
			}
		}
		return nil, false
	}
}

// maxContractFile bounds what one contract file may hold; no real schema
// comes near it.
const maxContractFile = 16 << 20

// ReadContractFile reads a contract file, refusing anything but a regular
// file: a FIFO or device under the contracts directory would block the
// reader (and with it a reload, or the start) forever.
func ReadContractFile(path string) ([]byte, error) {
	doc, _, err := readContractFile(path, true)
	return doc, err
}

// fileStat is what the watcher compares of a file between two polls.
type fileStat struct {
	size    int64
	modTime time.Time
}

// readContractFile is ReadContractFile, also returning the file's status as
// it was read (nil if it was not opened). statFirst refuses what is not a
// regular file before opening it; without it, for a path just listed as a
// regular file, the status taken once it is open does the refusing (and
// O_NONBLOCK keeps a FIFO swapped in since from blocking the open), one
// system call less a file.
func readContractFile(path string, statFirst bool) ([]byte, *fileStat, error) {
	if !statFirst {
		if doc, st, ok, err := readListedFile(path); ok {
			return doc, st, err
		}
	}
	if statFirst {
		info, err := os.Stat(path)
		if err != nil {
			return nil, nil, err
		}
		if !info.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("not a regular file (%s); contracts are plain files", info.Mode().Type())
		}
	}
	// O_NONBLOCK: should the path have been swapped for a FIFO since the
	// Stat, opening it must not wait for a writer; the Stat below refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("not a regular file (%s); contracts are plain files", info.Mode().Type())
	}
	st := &fileStat{size: info.Size(), modTime: info.ModTime()}
	doc, err := io.ReadAll(io.LimitReader(f, maxContractFile+1))
	if err != nil {
		return nil, st, err
	}
	if len(doc) > maxContractFile {
		return nil, st, fmt.Errorf("larger than %d bytes", maxContractFile)
	}
	return doc, st, nil
}

// DocumentsOf looks contracts up among cs by key, for $refs between them
// (compat's diff follows them through it).
func DocumentsOf(cs []*Contract) Documents {
	m := make(map[Key][]byte, len(cs))
	for _, c := range cs {
		m[c.Key] = c.Document
	}
	return func(k Key) ([]byte, bool) {
		d, ok := m[k]
		return d, ok
	}
}
