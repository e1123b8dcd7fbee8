package pull

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/registry"
)

// ErrNotListable is returned by a source that cannot say what it holds: a
// static Iglu repository over HTTP, whose layout has no index.
var ErrNotListable = errors.New("cannot be listed")

// errNotFound is a Fetch of a schema the source does not hold.
var errNotFound = registry.ErrNotFound

// errNotRegular is a Fetch of a directory entry that is not a plain file (a
// link, which could lead out of the checkout; a FIFO, which would block).
var errNotRegular = errors.New("not a regular file; pull reads only plain files")

// Source is an Iglu repository schemas are pulled from.
type Source interface {
	// Name names the source in reports; it carries no credential.
	Name() string
	// List returns every schema the source holds, as it names them, or
	// ErrNotListable.
	List(ctx context.Context) ([]string, error)
	// Fetch returns one schema's document, or an error wrapping
	// registry.ErrNotFound, registry.ErrDocumentTooLarge or errNotRegular.
	Fetch(ctx context.Context, e entry) ([]byte, error)
}

// HTTP is an Iglu repository over HTTP: an iglu-server (listable) or a
// static repository laid out as Iglu Central (not listable).
type HTTP struct {
	Iglu *registry.Iglu
}

var _ Source = HTTP{}

// Name is the repository's URL, redacted.
func (h HTTP) Name() string { return h.Iglu.Name() }

// List lists an iglu-server's schemas (GET /api/schemas). Iglu's static
// layout has no index, and Iglu's own clients list only iglu-servers, so a
// static repository returns ErrNotListable.
func (h HTTP) List(ctx context.Context) ([]string, error) {
	if !h.Iglu.API() {
		return nil, fmt.Errorf("%s is a static Iglu repository, which %w: its layout has no index, and Iglu's own clients list only iglu-servers; name the schemas by key, or pull from a local checkout of the repository (for Iglu Central: git clone https://github.com/snowplow/iglu-central)", h.Name(), ErrNotListable)
	}
	return h.Iglu.ListURIs(ctx)
}

// Fetch GETs the schema.
func (h HTTP) Fetch(ctx context.Context, e entry) ([]byte, error) {
	return h.Iglu.Fetch(ctx, e.key)
}

// maxDirFiles bounds the files a directory walk visits: Iglu Central holds
// a few thousand.
const maxDirFiles = 100_000

// Dir is a local checkout of an Iglu repository. Root is the directory
// holding the schemas: the checkout's schemas folder.
type Dir struct {
	Root string
}

var _ Source = Dir{}

// NewDir returns the source for the checkout at path: its schemas folder
// when it has one (a clone of Iglu Central, or any static repository laid
// out as {path}/schemas/{vendor}/...), else path itself.
func NewDir(path string) (Dir, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Dir{}, fmt.Errorf("iglu repository %s: %w", path, err)
	}
	if !info.IsDir() {
		return Dir{}, fmt.Errorf("iglu repository %s is not a directory; give the checkout of a repository, holding schemas/{vendor}/{name}/jsonschema/{version}", path)
	}
	if info, err := os.Stat(filepath.Join(path, "schemas")); err == nil && info.IsDir() {
		return Dir{Root: filepath.Join(path, "schemas")}, nil
	}
	return Dir{Root: path}, nil
}

// Name is the schemas folder.
func (d Dir) Name() string { return d.Root }

// List returns the path of every file under Root, skipping dot files and
// folders as the contracts loader does.
func (d Dir) List(ctx context.Context) ([]string, error) {
	var out []string
	err := filepath.WalkDir(d.Root, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if path == d.Root {
			return nil
		}
		if strings.HasPrefix(de.Name(), ".") {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if de.IsDir() {
			return nil
		}
		if len(out) >= maxDirFiles {
			return fmt.Errorf("more than %d files; pull a smaller repository, or by key", maxDirFiles)
		}
		rel, err := filepath.Rel(d.Root, path)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.Root, err)
	}
	return out, nil
}

// Fetch reads the schema's file: the path it was listed as, or, for a key
// asked for, the key's path with or without .json. Only regular files are
// read (not a link, a FIFO or a device).
func (d Dir) Fetch(_ context.Context, e entry) ([]byte, error) {
	candidates := []string{e.listed}
	if e.listed == e.uri() {
		base := e.vendor + "/" + e.name + "/" + e.format + "/" + e.version
		candidates = []string{base, base + ".json"}
	}
	for _, rel := range candidates {
		path := filepath.Join(d.Root, filepath.FromSlash(rel))
		info, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: %w (it is a %s)", path, errNotRegular, info.Mode().Type())
		}
		if info.Size() > registry.MaxDocumentSize {
			return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, registry.ErrDocumentTooLarge, registry.MaxDocumentSize)
		}
		return contract.ReadContractFile(path)
	}
	return nil, fmt.Errorf("%w: no file %s in %s", errNotFound, e.uri(), d.Root)
}
