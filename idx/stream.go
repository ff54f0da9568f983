package idx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// ImageReader reads the images of a rank-3 IDX file (count, rows,
// columns; unsigned bytes or float32, raw or gzip) a few at a time, so
// that memory is bounded by what the caller asks for, not by the file: a
// file of any count can be processed. OpenImages and NewImageReader read
// and validate the header (for a raw file of known size, also that the
// data have the size it describes) before any data; Read checks each
// element as ReadImages does, and after the last image that nothing
// follows (and, for gzip, the checksum). Pixels are scaled as in Images.
type ImageReader struct {
	N, Rows, Cols int // from the header; N may exceed what fits in memory
	arrayStream
}

// LabelReader reads the labels of a rank-1 unsigned-byte IDX file a few at
// a time, as ImageReader reads images.
type LabelReader struct {
	N int // from the header
	arrayStream
}

// arrayStream is what ImageReader and LabelReader share: an open source
// positioned in the data, the number of items delivered, and what to
// release on Close.
type arrayStream struct {
	s     *source
	e     *elementStream
	t     Type
	item  int // elements per item
	done  int // items delivered
	ended bool
	close func() error
}

// Dim returns the number of pixels of one image, Rows·Cols.
func (r *ImageReader) Dim() int { return r.Rows * r.Cols }

// OpenImages opens the IDX image file at path and reads its header. The
// open, the header and every later Read are abandoned with ctx's error
// when ctx is done (a FIFO without a writer or a slow disk cannot hold the
// caller). Close the reader when done.
func OpenImages(ctx context.Context, path string) (*ImageReader, error) {
	s, closeFn, err := openFile(ctx, path)
	if err != nil {
		return nil, err
	}
	r, err := newImageReader(s)
	if err != nil {
		closeFn()
		return nil, err
	}
	r.close = closeFn
	return r, nil
}

// NewImageReader reads the header of the IDX image data in r.
func NewImageReader(r io.Reader) (*ImageReader, error) {
	s, err := open(r, "", readerSize(r))
	if err != nil {
		return nil, err
	}
	return newImageReader(s)
}

func newImageReader(s *source) (*ImageReader, error) {
	t, dims, err := s.readHeader(true)
	if err != nil {
		return nil, err
	}
	r := &ImageReader{N: dims[0], Rows: dims[1], Cols: dims[2]}
	r.arrayStream = arrayStream{s: s, t: t, item: dims[1] * dims[2], e: s.elementStream(t, int64(dims[0])*int64(dims[1])*int64(dims[2]))}
	return r, nil
}

// Read fills dst with the next images, len(dst)/Dim() of them or the ones
// that remain, and returns how many it read. After the last image it
// returns 0 and io.EOF, having checked that nothing follows the data.
func (r *ImageReader) Read(dst []float32) (int, error) {
	k := min(len(dst)/r.item, r.N-r.done)
	if k == 0 && len(dst) >= r.item {
		return 0, r.end()
	}
	pos := 0
	err := r.e.next(int64(k)*int64(r.item)*int64(r.t.size()),
		func(p []byte) {
			for i, b := range p {
				dst[pos+i] = byteScale[b]
			}
			pos += len(p)
		},
		func(f []float32) { pos += copy(dst[pos:], f) })
	if err != nil {
		return 0, err
	}
	r.done += k
	return k, nil
}

// OpenLabels opens the IDX label file at path and reads its header, as
// OpenImages does.
func OpenLabels(ctx context.Context, path string) (*LabelReader, error) {
	s, closeFn, err := openFile(ctx, path)
	if err != nil {
		return nil, err
	}
	r, err := newLabelReader(s)
	if err != nil {
		closeFn()
		return nil, err
	}
	r.close = closeFn
	return r, nil
}

// NewLabelReader reads the header of the IDX label data in r.
func NewLabelReader(r io.Reader) (*LabelReader, error) {
	s, err := open(r, "", readerSize(r))
	if err != nil {
		return nil, err
	}
	return newLabelReader(s)
}

func newLabelReader(s *source) (*LabelReader, error) {
	n, err := s.labelHeader()
	if err != nil {
		return nil, err
	}
	r := &LabelReader{N: n}
	r.arrayStream = arrayStream{s: s, t: Uint8, item: 1, e: s.elementStream(Uint8, int64(n))}
	return r, nil
}

// Read fills dst with the next labels, len(dst) of them or the ones that
// remain, and returns how many it read; after the last, 0 and io.EOF.
func (r *LabelReader) Read(dst []uint8) (int, error) {
	k := min(len(dst), r.N-r.done)
	if k == 0 && len(dst) > 0 {
		return 0, r.end()
	}
	pos := 0
	if err := r.e.next(int64(k), func(p []byte) { pos += copy(dst[pos:], p) }, nil); err != nil {
		return 0, err
	}
	r.done += k
	return k, nil
}

// end checks, once, that nothing follows the data and returns io.EOF.
func (a *arrayStream) end() error {
	if !a.ended {
		if err := a.s.end(); err != nil {
			return err
		}
		a.ended = true
	}
	return io.EOF
}

// Close releases the file of a reader from OpenImages or OpenLabels.
func (a *arrayStream) Close() error {
	if a.close == nil {
		return nil
	}
	err := a.close()
	a.close = nil
	return err
}

// openFile opens path under ctx: the open runs in a goroutine (opening a
// FIFO blocks until a writer comes), and once ctx is done every read fails
// with ctx's error and the file is closed, which also ends a read blocked
// on a pipe.
func openFile(ctx context.Context, path string) (*source, func() error, error) {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		ch <- opened{f, err}
	}()
	var o opened
	select {
	case o = <-ch:
	case <-ctx.Done():
		go func() { // close the file if the open completes later
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, nil, fmt.Errorf("idx: %s: %w", path, ctx.Err())
	}
	if o.err != nil {
		return nil, nil, fmt.Errorf("idx: %w", o.err)
	}
	f := o.f
	stop := context.AfterFunc(ctx, func() { f.Close() })
	closeFn := func() error {
		stop()
		if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			return err
		}
		return nil
	}
	s, err := open(&ctxReader{ctx: ctx, r: f}, path, fileSize(f))
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return s, closeFn, nil
}

// ctxReader fails with ctx's error once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && c.ctx.Err() != nil {
		return n, c.ctx.Err()
	}
	return n, err
}
