package contract

import "golang.org/x/sys/unix"

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
