package iouring

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's ABI, from include/uapi/linux/io_uring.h.
const (
	opFsync       = 3 // IORING_OP_FSYNC
	fsyncDatasync = 1 // IORING_FSYNC_DATASYNC

	offSQRing = 0          // IORING_OFF_SQ_RING (the CQ ring shares it: IORING_FEAT_SINGLE_MMAP)
	offSQEs   = 0x10000000 // IORING_OFF_SQES

	featSingleMmap  = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	registerEventfd = 4      // IORING_REGISTER_EVENTFD

	sqeSize = 64 // struct io_uring_sqe
	cqeSize = 16 // struct io_uring_cqe

	// Offsets in struct io_uring_sqe and io_uring_cqe.
	sqeOpcode     = 0
	sqeFd         = 4
	sqeFsyncFlags = 28
	cqeRes        = 8
)

// struct io_sqring_offsets
type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// struct io_cqring_offsets
type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// struct io_uring_params
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// Ring is an io_uring with an eventfd that its completions signal.
type Ring struct {
	onFail func(error)

	mu     sync.Mutex // one operation at a time; guards everything below
	fd     int
	rings  []byte // the submission and completion rings, one mapping
	sqes   []byte
	done   *os.File // the eventfd, non-blocking, so that a read parks in the poller
	buf    [8]byte
	broken error // set when the ring failed; every later call returns it
	closed bool

	sqTail, sqMask, sqArray *uint32
	cqHead, cqTail, cqMask  *uint32
	cqes                    unsafe.Pointer
}

// Open sets up a ring. onFail, when set, is called once if the ring later
// fails itself (see ErrRing), so that the caller can say so; the caller
// makes its system calls itself from then on.
func Open(onFail func(error)) (*Ring, error) {
	var p params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 2, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &Ring{fd: int(fd), onFail: onFail}
	if err := r.setup(&p); err != nil {
		r.release()
		return nil, err
	}
	return r, nil
}

func (r *Ring) setup(p *params) error {
	if p.features&featSingleMmap == 0 {
		return errors.New("io_uring: the kernel predates IORING_FEAT_SINGLE_MMAP (Linux 5.4)")
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*cqeSize)
	rings, err := unix.Mmap(r.fd, offSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("io_uring: map rings: %w", err)
	}
	r.rings = rings
	sqes, err := unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("io_uring: map submission entries: %w", err)
	}
	r.sqes = sqes
	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.rings[off])) }
	r.sqTail, r.sqMask, r.sqArray = at(p.sqOff.tail), at(p.sqOff.ringMask), at(p.sqOff.array)
	r.cqHead, r.cqTail, r.cqMask = at(p.cqOff.head), at(p.cqOff.tail), at(p.cqOff.ringMask)
	r.cqes = unsafe.Pointer(&r.rings[p.cqOff.cqes])

	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("io_uring: eventfd: %w", err)
	}
	// A non-blocking descriptor: os.NewFile registers it with the poller.
	r.done = os.NewFile(uintptr(efd), "io_uring-completions")
	e := int32(efd)
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEventfd, uintptr(unsafe.Pointer(&e)), 1, 0, 0); errno != 0 {
		return fmt.Errorf("io_uring: register eventfd: %w", errno)
	}
	return nil
}

// Fdatasync is fdatasync(2) of fd, run by the kernel's io_uring worker
// while the calling goroutine is parked. It returns the call's own error
// as a syscall.Errno; an error matching ErrRing when the ring failed before
// the call was submitted (or the kernel cancelled it before it ran), so
// that it did not run; or, when the ring failed while the call was under
// way, an error matching neither: its outcome is unknown, and as the
// kernel reports a failed flush only once, a caller must take it for a
// failed flush rather than flush again and believe the answer.
func (r *Ring) Fdatasync(fd int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return fmt.Errorf("%w: %w", ErrRing, os.ErrClosed)
	case r.broken != nil:
		return r.broken
	}
	res, submitted, err := r.fsync(fd)
	if err != nil {
		r.broken = fmt.Errorf("%w: %w", ErrRing, err)
		if r.onFail != nil {
			r.onFail(err)
		}
		if submitted {
			return fmt.Errorf("io_uring: the flush's outcome is unknown: %w", err)
		}
		return r.broken
	}
	switch {
	case res == -int32(syscall.ECANCELED):
		// Not an answer of fdatasync's: the kernel cancelled the
		// request before it ran (the thread that submitted it exited).
		// The ring still works; the caller flushes with the system call.
		return fmt.Errorf("%w: the flush was cancelled before it ran", ErrRing)
	case res < 0:
		return syscall.Errno(-res)
	}
	return nil
}

// fsync submits one fdatasync and waits for its completion, returning the
// completion's result, and on an error whether the call had been
// submitted.
func (r *Ring) fsync(fd int) (res int32, submitted bool, err error) {
	tail := *r.sqTail // only the caller, under mu, moves the tail
	idx := tail & *r.sqMask
	sqe := r.sqes[idx*sqeSize : (idx+1)*sqeSize]
	clear(sqe)
	sqe[sqeOpcode] = opFsync
	*(*int32)(unsafe.Pointer(&sqe[sqeFd])) = int32(fd)
	*(*uint32)(unsafe.Pointer(&sqe[sqeFsyncFlags])) = fsyncDatasync
	*(*uint32)(unsafe.Add(unsafe.Pointer(r.sqArray), idx*4)) = idx
	atomic.StoreUint32(r.sqTail, tail+1) // publishes the entry to the kernel

	for {
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 1, 0, 0, 0, 0)
		if errno == syscall.EINTR || errno == syscall.EAGAIN || errno == syscall.EBUSY {
			continue
		}
		// io_uring_enter fails only when it submitted nothing.
		if errno != 0 {
			return 0, false, fmt.Errorf("io_uring_enter: %w", errno)
		}
		if n != 1 {
			return 0, false, fmt.Errorf("io_uring_enter: submitted %d entries of 1", n)
		}
		break
	}
	for {
		head := atomic.LoadUint32(r.cqHead)
		if head != atomic.LoadUint32(r.cqTail) {
			cqe := unsafe.Add(r.cqes, (head&*r.cqMask)*cqeSize)
			res := *(*int32)(unsafe.Add(cqe, cqeRes))
			atomic.StoreUint32(r.cqHead, head+1) // hands the entry back
			return res, true, nil
		}
		// The eventfd counts completions since it was last read: one
		// posted between the check above and this read is not missed.
		if _, err := r.done.Read(r.buf[:]); err != nil {
			return 0, true, fmt.Errorf("wait for completion: %w", err)
		}
	}
}

// Close releases the ring, after the operation under way if any.
func (r *Ring) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.release()
}

func (r *Ring) release() error {
	var errs []error
	if r.done != nil {
		errs = append(errs, r.done.Close())
	}
	if r.sqes != nil {
		errs = append(errs, unix.Munmap(r.sqes))
	}
	if r.rings != nil {
		errs = append(errs, unix.Munmap(r.rings))
	}
	errs = append(errs, unix.Close(r.fd))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close io_uring: %w", err)
	}
	return nil
}
