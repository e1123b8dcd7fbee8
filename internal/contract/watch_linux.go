package contract

import (
	"fmt"
	"io/fs"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// notifySupported: inotify tells the watcher what changes.
const notifySupported = true

// localFilesystem reports whether dir is on a filesystem whose every change
// inotify reports. On a network filesystem (NFS, SMB, FUSE mounts) a change
// made on another machine raises no event, so such a directory is polled;
// so is any filesystem not known here to be local.
func localFilesystem(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	switch int64(st.Type) {
	case unix.EXT4_SUPER_MAGIC, // ext2, ext3 and ext4 share it
		unix.XFS_SUPER_MAGIC,
		unix.BTRFS_SUPER_MAGIC,
		unix.TMPFS_MAGIC,
		unix.OVERLAYFS_SUPER_MAGIC,
		unix.F2FS_SUPER_MAGIC,
		unix.RAMFS_MAGIC,
		0x2fc12fc1: // ZFS
		return true
	}
	return false
}

// changeTime is when the file's status last changed (its ctime): a write
// or a rename, and setting its modification time too, which cannot set
// this one back.
func changeTime(info fs.FileInfo) time.Time {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec))
	}
	return info.ModTime()
}

// readListedFile reads a file a directory listing says is regular with
// bare system calls: open, fstat, one read when the size is right, close.
// os.File would also try to register the file with the runtime's poller
// (a failing epoll_ctl) and read once more to see the end, which at 10,000
// files is a noticeable share of a load on a machine with slow system
// calls. ok is false for what it leaves to the portable path: anything
// but a regular file once opened, whose refusal that path words.
func readListedFile(path string) (doc []byte, st *fileStat, ok bool, err error) {
	var fd int
	for {
		// O_NONBLOCK: should the path have been swapped for a FIFO since
		// it was listed, opening it must not wait for a writer.
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, nil, true, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var sys syscall.Stat_t
	if err := syscall.Fstat(fd, &sys); err != nil {
		return nil, nil, true, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if sys.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, nil, false, nil
	}
	st = &fileStat{size: sys.Size, modTime: time.Unix(int64(sys.Mtim.Sec), int64(sys.Mtim.Nsec))}
	// Room for one byte more than the file holds: a read that fills it
	// means the file grew, and it is read on to its end.
	doc = make([]byte, 0, min(sys.Size, maxContractFile)+1)
	for {
		n, err := syscall.Read(fd, doc[len(doc):cap(doc)])
		if err == syscall.EINTR || err == syscall.EAGAIN {
			continue
		}
		if err != nil {
			return nil, st, true, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		doc = doc[:len(doc)+n]
		if len(doc) > maxContractFile {
			return nil, st, true, fmt.Errorf("larger than %d bytes", maxContractFile)
		}
		// The end: nothing more, or as much as the file holds (a regular
		// file's read stops short only at its end).
		if n == 0 || (int64(len(doc)) == sys.Size && len(doc) < cap(doc)) {
			return doc, st, true, nil
		}
		if len(doc) == cap(doc) {
			doc = append(doc, 0)[:len(doc)]
		}
	}
}
