//go:build !linux

package contract

// notifySupported: elsewhere than on Linux the watcher polls. (fsnotify's
// kqueue backend opens every file it watches, which 10,000 contracts would
// turn into 10,000 open files.)
const notifySupported = false

func localFilesystem(string) bool { return false }

// readListedFile leaves every file to the portable path.
func readListedFile(string) ([]byte, *fileStat, bool, error) { return nil, nil, false, nil }
