// Package atomicfile replaces a file so that a reader, or the machine after a
// crash, sees the old content or the new, never a mix: the data goes to a
// hidden temporary file in the same directory, which is renamed over the
// target. The one place Accord does this (spool cursors, contract writes
// through the registry API, delivery counters, accord init) and fsyncs a
// directory.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// TempSuffix ends the name of every temporary file Write creates, so a
// directory's owner can remove those a crash left behind.
const TempSuffix = ".tmp"

// Write replaces path with data, durably: the temporary file is fsynced
// before the rename and the directory after it, so once Write returns the
// new content survives a power cut. The file gets the permissions perm.
func Write(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, true)
}

// WriteNoSync replaces path with data atomically but does not wait for the
// disk: after a power cut the file may hold the old content. For data that
// is cheap to lose (counters), where an fsync per write costs more than it
// saves.
func WriteNoSync(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, false)
}

func write(path string, data []byte, perm fs.FileMode, sync bool) (err error) {
	dir := filepath.Dir(path)
	// Hidden, so that directory watchers (the contracts watcher) skip it.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*"+TempSuffix)
	if err != nil {
		return fmt.Errorf("create a temporary file for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", tmp.Name(), err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp.Name(), path, err)
	}
	if sync {
		return SyncDir(dir)
	}
	return nil
}

// SyncDir fsyncs a directory, so that the names created, renamed or removed
// in it survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s for fsync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
