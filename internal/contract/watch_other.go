//go:build !linux

package contract

import (
	"io/fs"
	"time"
)

// notifySupported: elsewhere than on Linux the watcher polls. (fsnotify's
// kqueue backend opens every file it watches, which 10,000 contracts would
// turn into 10,000 open files.)
const notifySupported = false

func localFilesystem(string) bool { return false }

// changeTime is the file's modification time: where the watcher polls, a
// change is what its size or this time says.
func changeTime(info fs.FileInfo) time.Time { return info.ModTime() }

// readListedFile leaves every file to the portable path.
func readListedFile(string) ([]byte, *fileStat, bool, error) { return nil, nil, false, nil }
