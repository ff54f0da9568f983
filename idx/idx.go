// Package idx reads and writes IDX files, the format of MNIST,
// Fashion-MNIST and Kuzushiji-MNIST, raw or gzip-compressed.
//
// An IDX file is big-endian: two zero bytes, a type byte, the rank n, then
// n uint32 dimensions and the elements in row-major order. This package
// handles the types unsigned byte (0x08) and float32 (0x0D). A reader
// validates everything before trusting it: the magic, the type, the rank
// (1 … MaxRank), every dimension (≥ 1), the element count (≤ MaxElements),
// that the data are all there, that float32 data are finite, and that
// nothing follows the data (trailing bytes are an error, so a file holds
// exactly one array). Memory grows with the data actually read, never with
// what a header claims. A gzip file is recognised by its magic 0x1f 0x8b;
// its integrity (CRC-32 and length) is checked, and the offsets in errors
// are then offsets in the decompressed data.
//
// In memory, Images holds images scaled to [0,1] and Labelled images with
// a label each, the type of a classification data set (package dataset
// loads them, package train trains on them).
package idx

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Type is an IDX element type.
type Type uint8

// The element types this package handles.
const (
	Uint8   Type = 0x08
	Float32 Type = 0x0D
)

func (t Type) String() string {
	switch t {
	case Uint8:
		return "unsigned byte"
	case Float32:
		return "float32"
	case 0x09:
		return "signed byte"
	case 0x0B:
		return "int16"
	case 0x0C:
		return "int32"
	case 0x0E:
		return "float64"
	}
	return fmt.Sprintf("unknown type 0x%02X", uint8(t))
}

func (t Type) size() int {
	if t == Float32 {
		return 4
	}
	return 1
}

// Limits on what a reader accepts.
const (
	MaxRank     = 8       // dimensions per array
	MaxElements = 1 << 30 // elements per array
)

// ErrFormat is matched (errors.Is) by every error about the content of a
// file; a file that ends early also matches io.ErrUnexpectedEOF. Errors of
// the file system or of the underlying reader do not match ErrFormat.
var ErrFormat = errors.New("not a valid IDX file")

// FormatError describes a problem with the content of an IDX file.
type FormatError struct {
	File         string // path given to a ReadFile-style function; "" for readers
	Offset       int64  // byte offset of the offending field
	Decompressed bool   // Offset counts decompressed bytes of a gzip file
	Msg          string // what is wrong
	Err          error  // nil or io.ErrUnexpectedEOF
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("idx: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Offset >= 0 {
		b.WriteString("offset ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
		if e.Decompressed {
			b.WriteString(" (decompressed)")
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrFormat) hold for every FormatError.
func (e *FormatError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrFormat, e.Err}
	}
	return []error{ErrFormat}
}

// Array is the content of an IDX file. Exactly one of U8 and F32 holds the
// elements, according to Type, in row-major order.
type Array struct {
	Type Type
	Dims []int
	U8   []uint8
	F32  []float32
}

// Len returns the number of elements, the product of Dims.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Dims {
		n *= d
	}
	return n
}

// byteScale[p] = float32(p)/255, the pixel value of byte p.
var byteScale = func() (t [256]float32) {
	for p := range t {
		t[p] = float32(p) / 255
	}
	return
}()

// source is an opened IDX stream: raw or decompressed bytes, with the
// offset reached and, for raw input, the number of bytes known to remain.
type source struct {
	r     io.Reader
	under *errRecorder // the reader given by the caller
	file  string
	gz    bool
	off   int64
	known int64 // bytes available from offset 0, or −1
	buf   []byte
}

func (s *source) errorf(off int64, kind error, format string, args ...any) error {
	return &FormatError{File: s.file, Offset: off, Decompressed: s.gz, Msg: fmt.Sprintf(format, args...), Err: kind}
}

// errRecorder remembers the first error other than io.EOF that the
// caller's reader returned, to tell the gzip decompressor's complaints
// about the content from failures of the reader itself.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// ioError wraps an error met while reading. Errors of the gzip
// decompressor that do not come from the caller's reader are about the
// file's content and match ErrFormat (and io.ErrUnexpectedEOF when the
// compressed stream is cut short).
func (s *source) ioError(what string, err error) error {
	if s.gz && (s.under.err == nil || !errors.Is(err, s.under.err)) {
		var kind error
		if err == io.ErrUnexpectedEOF {
			kind = io.ErrUnexpectedEOF
		}
		return s.errorf(s.off, kind, "%s: corrupt or truncated gzip data: %v", what, err)
	}
	prefix := "idx: "
	if s.file != "" {
		prefix += s.file + ": "
	}
	return fmt.Errorf("%soffset %d: %s: %w", prefix, s.off, what, err)
}

// full reads len(p) bytes of field into p.
func (s *source) full(p []byte, field string) error {
	k, err := io.ReadFull(s.r, p)
	s.off += int64(k)
	if (err == io.EOF || err == io.ErrUnexpectedEOF) && s.under.err == nil {
		return s.errorf(s.off-int64(k), io.ErrUnexpectedEOF, "data end inside %s after %d of %d bytes (truncated)", field, k, len(p))
	}
	if err != nil {
		return s.ioError("reading "+field, err)
	}
	return nil
}

// open prepares r for reading, decompressing gzip data.
func open(r io.Reader, file string, known int64) (*source, error) {
	under := &errRecorder{r: r}
	br := bufio.NewReaderSize(under, 1<<16)
	s := &source{r: br, under: under, file: file, known: known}
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, s.ioError("reading the magic", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		s.gz = true
		s.known = -1
		zr, err := gzip.NewReader(br)
		if err != nil {
			if under.err != nil && errors.Is(err, under.err) {
				return nil, s.ioError("reading the gzip header", err)
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil, &FormatError{File: file, Offset: -1, Msg: "gzip header is truncated", Err: io.ErrUnexpectedEOF}
			}
			return nil, &FormatError{File: file, Offset: -1, Msg: "corrupt gzip header: " + err.Error()}
		}
		s.r = zr
	}
	return s, nil
}

// header reads and validates the magic and the dimensions of an array
// that is read whole: at most MaxElements elements.
func (s *source) header() (Type, []int, error) { return s.readHeader(false) }

// readHeader reads and validates the magic and the dimensions. A stream
// (images read a few at a time) must have rank 3 and is bounded per image:
// Rows·Cols ≤ MaxElements, any count.
func (s *source) readHeader(stream bool) (Type, []int, error) {
	var m [4]byte
	if err := s.full(m[:], "the magic"); err != nil {
		return 0, nil, err
	}
	if m[0] != 0 || m[1] != 0 {
		return 0, nil, s.errorf(0, nil, "magic starts % x, want 00 00 (not an IDX file)", m[:2])
	}
	t := Type(m[2])
	if t != Uint8 && t != Float32 {
		return 0, nil, s.errorf(2, nil, "element type 0x%02X (%v) is not supported; want 0x08 (unsigned byte) or 0x0D (float32)", m[2], t)
	}
	rank := int(m[3])
	if rank < 1 || rank > MaxRank {
		return 0, nil, s.errorf(3, nil, "rank %d, want 1 … %d", rank, MaxRank)
	}
	if stream && rank != 3 {
		return 0, nil, s.errorf(3, nil, "rank %d, but images need rank 3 (count, rows, columns)", rank)
	}
	dims := make([]int, rank)
	var b [4]byte
	n := uint64(1)
	for i := range dims {
		off := s.off
		if err := s.full(b[:], fmt.Sprintf("dimension %d", i)); err != nil {
			return 0, nil, err
		}
		d := binary.BigEndian.Uint32(b[:])
		if d == 0 {
			return 0, nil, s.errorf(off, nil, "dimension %d is 0", i)
		}
		n *= uint64(d) // both factors < 2^32 and n ≤ MaxElements before (or, streaming, n < 2^62 after 3): no overflow
		switch {
		case !stream && n > MaxElements:
			return 0, nil, s.errorf(off, nil, "dimension %d = %d makes %d elements, more than %d", i, d, n, MaxElements)
		case stream && i > 0 && n/uint64(dims[0]) > MaxElements:
			return 0, nil, s.errorf(off, nil, "dimension %d = %d makes images of %d pixels, more than %d", i, d, n/uint64(dims[0]), MaxElements)
		}
		dims[i] = int(d)
	}
	if s.known >= 0 {
		need := int64(n) * int64(t.size())
		if have := s.known - s.off; have != need {
			if have < need {
				return 0, nil, s.errorf(s.off, io.ErrUnexpectedEOF, "dimensions %v describe %d bytes of data, but %d remain (truncated)", dims, need, have)
			}
			return 0, nil, s.errorf(s.off, nil, "dimensions %v describe %d bytes of data, but %d remain (trailing bytes)", dims, need, have)
		}
	}
	return t, dims, nil
}

// chunk reads the next at most min(want, len(s.buf)) bytes of the n data
// bytes still expected (of total), returning them.
func (s *source) chunk(n, total, want int64) ([]byte, error) {
	if s.buf == nil {
		s.buf = make([]byte, 1<<16)
	}
	p := s.buf[:min(n, want, int64(len(s.buf)))]
	k, err := io.ReadFull(s.r, p)
	s.off += int64(k)
	if (err == io.EOF || err == io.ErrUnexpectedEOF) && s.under.err == nil {
		return nil, s.errorf(s.off, io.ErrUnexpectedEOF, "data end after %d of %d bytes of elements (truncated)", total-n+int64(k), total)
	}
	if err != nil {
		return nil, s.ioError("reading the data", err)
	}
	return p, nil
}

// grow returns v with room for at least k more elements, growing the
// capacity geometrically up to limit so that memory follows the data read.
func grow[T any](v []T, k, limit int) []T {
	if cap(v)-len(v) >= k {
		return v
	}
	c := max(2*cap(v), len(v)+k, 1<<16)
	c = min(c, limit)
	nv := make([]T, len(v), c)
	copy(nv, v)
	return nv
}

// end checks that nothing follows the data. Reading to the end also makes
// the gzip reader verify its checksum.
func (s *source) end() error {
	var b [1]byte
	k, err := io.ReadFull(s.r, b[:])
	if k > 0 {
		return s.errorf(s.off, nil, "unexpected bytes after the data")
	}
	if err != io.EOF {
		return s.ioError("checking for the end of the data", err)
	}
	return nil
}

// elements reads the n elements of type t, delivering each chunk of bytes
// to u8 or the decoded float32 values to f32.
func (s *source) elements(t Type, n int, u8 func([]byte), f32 func([]float32)) error {
	e := s.elementStream(t, int64(n))
	return e.next(e.rest, u8, f32)
}

// elementStream is the data of an array, read in pieces.
type elementStream struct {
	s           *source
	t           Type
	total, rest int64 // bytes of data, bytes not read yet
	dataStart   int64
	fbuf        []float32
}

func (s *source) elementStream(t Type, n int64) *elementStream {
	total := n * int64(t.size())
	return &elementStream{s: s, t: t, total: total, rest: total, dataStart: s.off}
}

// next reads the next want bytes of elements (want ≤ rest, a multiple of
// the element size), delivering each chunk of bytes to u8 or the decoded
// float32 values to f32.
func (e *elementStream) next(want int64, u8 func([]byte), f32 func([]float32)) error {
	s := e.s
	for want > 0 {
		start := s.off
		p, err := s.chunk(e.rest, e.total, want)
		if err != nil {
			return err
		}
		e.rest -= int64(len(p))
		want -= int64(len(p))
		if e.t == Uint8 {
			u8(p)
			continue
		}
		if e.fbuf == nil {
			e.fbuf = make([]float32, len(s.buf)/4)
		}
		f := e.fbuf[:len(p)/4]
		for i := range f {
			x := math.Float32frombits(binary.BigEndian.Uint32(p[4*i:]))
			if x-x != 0 {
				return s.errorf(start+int64(4*i), nil, "element %d = %v is not finite", (start-e.dataStart)/4+int64(i), x)
			}
			f[i] = x
		}
		f32(f)
	}
	return nil
}

// capacity returns the capacity to allocate up front for n elements: all
// of them when the header has been checked against the data's length,
// otherwise none (grow then follows the data read).
func (s *source) capacity(n int) int {
	if s.known >= 0 {
		return n
	}
	return 0
}

func fileSize(f *os.File) int64 {
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		return fi.Size()
	}
	return -1
}

func readerSize(r io.Reader) int64 {
	switch s := r.(type) {
	case interface{ Len() int }:
		return int64(s.Len())
	case *os.File:
		if size := fileSize(s); size >= 0 {
			if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
				return size - pos
			}
		}
	}
	return -1
}

// withFile opens path and runs f on its source.
func withFile[T any](path string, f func(*source) (T, error)) (T, error) {
	var zero T
	fh, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("idx: %w", err)
	}
	defer fh.Close()
	s, err := open(fh, path, fileSize(fh))
	if err != nil {
		return zero, err
	}
	return f(s)
}

func withReader[T any](r io.Reader, f func(*source) (T, error)) (T, error) {
	var zero T
	s, err := open(r, "", readerSize(r))
	if err != nil {
		return zero, err
	}
	return f(s)
}

// Read reads an IDX array (raw or gzip) from r. It reads r to its end.
func Read(r io.Reader) (*Array, error) { return withReader(r, readArray) }

// ReadFile reads the IDX array (raw or gzip) in the file at path.
func ReadFile(path string) (*Array, error) { return withFile(path, readArray) }

func readArray(s *source) (*Array, error) {
	t, dims, err := s.header()
	if err != nil {
		return nil, err
	}
	a := &Array{Type: t, Dims: dims}
	n := a.Len()
	if t == Uint8 {
		a.U8 = make([]uint8, 0, s.capacity(n))
	} else {
		a.F32 = make([]float32, 0, s.capacity(n))
	}
	err = s.elements(t, n,
		func(p []byte) { a.U8 = append(grow(a.U8, len(p), n), p...) },
		func(f []float32) { a.F32 = append(grow(a.F32, len(f), n), f...) })
	if err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return a, nil
}

// ReadImages reads a rank-3 IDX file (count, rows, columns) of unsigned
// bytes or float32 values, raw or gzip.
func ReadImages(path string) (*Images, error) { return withFile(path, readImages) }

// ReadImagesFrom is ReadImages for a reader; it reads r to its end.
func ReadImagesFrom(r io.Reader) (*Images, error) { return withReader(r, readImages) }

func readImages(s *source) (*Images, error) {
	t, dims, err := s.header()
	if err != nil {
		return nil, err
	}
	if len(dims) != 3 {
		return nil, s.errorf(3, nil, "rank %d, but images need rank 3 (count, rows, columns)", len(dims))
	}
	im := &Images{N: dims[0], Rows: dims[1], Cols: dims[2]}
	n := im.N * im.Rows * im.Cols
	im.Pixels = make([]float32, 0, s.capacity(n))
	err = s.elements(t, n,
		func(p []byte) {
			im.Pixels = grow(im.Pixels, len(p), n)
			base := len(im.Pixels)
			im.Pixels = im.Pixels[:base+len(p)]
			dst := im.Pixels[base:]
			for i, b := range p {
				dst[i] = byteScale[b]
			}
		},
		func(f []float32) { im.Pixels = append(grow(im.Pixels, len(f), n), f...) })
	if err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return im, nil
}

// ReadLabels reads a rank-1 IDX file of unsigned bytes, raw or gzip.
func ReadLabels(path string) ([]uint8, error) { return withFile(path, readLabels) }

// ReadLabelsFrom is ReadLabels for a reader; it reads r to its end.
func ReadLabelsFrom(r io.Reader) ([]uint8, error) { return withReader(r, readLabels) }

// labelHeader reads the header of a label file: rank 1, unsigned bytes;
// it returns the number of labels.
func (s *source) labelHeader() (int, error) {
	t, dims, err := s.header()
	if err != nil {
		return 0, err
	}
	if t != Uint8 {
		return 0, s.errorf(2, nil, "element type %v, but labels need unsigned bytes (0x08)", t)
	}
	if len(dims) != 1 {
		return 0, s.errorf(3, nil, "rank %d, but labels need rank 1", len(dims))
	}
	return dims[0], nil
}

func readLabels(s *source) ([]uint8, error) {
	n, err := s.labelHeader()
	if err != nil {
		return nil, err
	}
	labels := make([]uint8, 0, s.capacity(n))
	err = s.elements(Uint8, n, func(p []byte) { labels = append(grow(labels, len(p), n), p...) }, nil)
	if err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return labels, nil
}

// Write writes a in IDX format (uncompressed) to w. Wrap w in a
// gzip.Writer for a compressed file, or use WriteFile.
func Write(w io.Writer, a *Array) error {
	if err := checkArray(a); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	writeHeader(bw, a.Type, a.Dims)
	if a.Type == Uint8 {
		bw.Write(a.U8)
	} else {
		var b [4]byte
		for _, x := range a.F32 {
			binary.BigEndian.PutUint32(b[:], math.Float32bits(x))
			bw.Write(b[:])
		}
	}
	return bw.Flush()
}

func checkArray(a *Array) error {
	if a.Type != Uint8 && a.Type != Float32 {
		return fmt.Errorf("idx: cannot write element type %v", a.Type)
	}
	if len(a.Dims) < 1 || len(a.Dims) > MaxRank {
		return fmt.Errorf("idx: cannot write rank %d, want 1 … %d", len(a.Dims), MaxRank)
	}
	n := uint64(1)
	for i, d := range a.Dims {
		if d < 1 || uint64(d) > math.MaxUint32 {
			return fmt.Errorf("idx: dimension %d = %d, want 1 … %d", i, d, uint32(math.MaxUint32))
		}
		if n *= uint64(d); n > MaxElements {
			return fmt.Errorf("idx: dimensions %v exceed %d elements", a.Dims, MaxElements)
		}
	}
	have := len(a.U8)
	if a.Type == Float32 {
		have = len(a.F32)
		for i, x := range a.F32 {
			if x-x != 0 {
				return fmt.Errorf("idx: element %d = %v is not finite", i, x)
			}
		}
	}
	if uint64(have) != n {
		return fmt.Errorf("idx: dimensions %v need %d elements, have %d", a.Dims, n, have)
	}
	return nil
}

func writeHeader(w *bufio.Writer, t Type, dims []int) {
	w.Write([]byte{0, 0, byte(t), byte(len(dims))})
	var b [4]byte
	for _, d := range dims {
		binary.BigEndian.PutUint32(b[:], uint32(d))
		w.Write(b[:])
	}
}

// WriteFile writes a to path, gzip-compressed when path ends in ".gz". The
// gzip header carries no name and no time, so the output depends only on a
// (and on the Go release's compressor).
func WriteFile(path string, a *Array) (err error) {
	if err := checkArray(a); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("idx: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("idx: %w", cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if filepath.Ext(path) != ".gz" {
		return Write(f, a)
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := Write(zw, a); err != nil {
		return err
	}
	return zw.Close()
}

// WriteImages writes images as an unsigned-byte IDX file (rank 3). Every
// pixel must be a value ReadImages produces from a byte, p/255 for p in
// 0 … 255; for other values write a float32 Array with Write.
func WriteImages(w io.Writer, im *Images) error {
	if err := im.Validate(); err != nil {
		return err
	}
	a := &Array{Type: Uint8, Dims: []int{im.N, im.Rows, im.Cols}, U8: make([]uint8, len(im.Pixels))}
	for i, x := range im.Pixels {
		p, ok := PixelByte(x)
		if !ok {
			return fmt.Errorf("idx: pixel %d of image %d = %v is not p/255 for a byte p", i%im.Dim(), i/im.Dim(), x)
		}
		a.U8[i] = p
	}
	return Write(w, a)
}

// PixelByte returns the byte p with float32(p)/255 == x, if there is one.
func PixelByte(x float32) (uint8, bool) {
	if !(x >= 0 && x <= 1) {
		return 0, false
	}
	p := uint8(math.Round(float64(x) * 255))
	return p, byteScale[p] == x
}

// WriteLabels writes labels as an unsigned-byte IDX file of rank 1.
func WriteLabels(w io.Writer, labels []uint8) error {
	return Write(w, &Array{Type: Uint8, Dims: []int{len(labels)}, U8: labels})
}
