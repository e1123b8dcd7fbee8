package sdk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/accord-events/accord/internal/atomicfile"
)

// ManifestName is the file in an output directory listing the files the
// last run generated there, one per line. A run removes the files the
// previous manifest lists that it did not generate again (a removed
// contract's) and leaves every other file alone.
const ManifestName = ".accord-gen"

// File is one generated file: a slash-separated path relative to the output
// directory and its bytes.
type File struct {
	Path string
	Data []byte
}

// Files are a generator's output, sorted by path.
type Files []File

func (fs Files) sorted() Files {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	return fs
}

// Write writes files under dir (created if missing): each atomically, only
// when its bytes changed, so a second run over the same contracts touches
// nothing; then removes the files the previous run's manifest lists and
// this run did not write, and writes the new manifest. Every path must be
// relative, clean and inside dir: one that is not is an error, and nothing
// is written.
func Write(dir string, files Files) error {
	for _, f := range files {
		if err := checkPath(f.Path); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	previous, err := readManifest(filepath.Join(dir, ManifestName))
	if err != nil {
		return err
	}
	now := map[string]bool{}
	var manifest bytes.Buffer
	for _, f := range files {
		now[f.Path] = true
		manifest.WriteString(f.Path + "\n")
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.Data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		if err := atomicfile.WriteNoSync(path, f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	for _, p := range previous {
		if now[p] || checkPath(p) != nil {
			continue // a hand-edited manifest never makes us remove outside dir
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale generated file: %w", err)
		}
	}
	mpath := filepath.Join(dir, ManifestName)
	if old, err := os.ReadFile(mpath); err == nil && bytes.Equal(old, manifest.Bytes()) {
		return nil
	}
	return atomicfile.WriteNoSync(mpath, manifest.Bytes(), 0o644)
}

// checkPath refuses a path that could leave the output directory or is not
// in the form generators make.
func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || p != filepath.ToSlash(filepath.Clean(p)) ||
		p == ".." || strings.HasPrefix(p, "../") || p == ManifestName {
		return fmt.Errorf("generated path %q is not inside the output directory", p)
	}
	return nil
}

// maxManifest bounds the manifest read back: a generator writes a few
// hundred bytes per contract.
const maxManifest = 4 << 20

func readManifest(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(&limitedReader{f: f, left: maxManifest})
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

type limitedReader struct {
	f    *os.File
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, fmt.Errorf("larger than %d bytes; delete it and generate again", maxManifest)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.f.Read(p)
	l.left -= int64(n)
	return n, err
}
