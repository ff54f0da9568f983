package lrrn

// The model file format, version 1. docs/model-format.md describes it byte
// by byte; this file is its implementation. In short (little-endian):
//
//	magic "LRRN\r\n\x1a\n" | version u32 | L u32 | d_0 … d_L u32
//	| activation u8 ×L | β f64 ×L | γ f64 | passes u32
//	| epochs u32 | test accuracy f64 | dataset (u32 length, UTF-8)
//	| note (u32 length, UTF-8) | W_0 … W_{L−1} f32 row-major
//	| b_0 … b_{L−1} f32 | CRC-32C u32 of all preceding bytes
//
// The reader validates every header field as it arrives, before anything
// is allocated from it, and names the field and its byte offset when one is
// wrong.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FormatVersion is the model file format version that Save writes and Load
// reads.
const FormatVersion = 1

// Limits of the metadata strings stored in a model file, in bytes.
const (
	MaxDatasetLen = 256
	MaxNoteLen    = 1 << 16
)

// fileMagic starts every model file. The bytes after "LRRN" (CR LF, SUB, LF,
// as in PNG's signature) make a file mangled by a text-mode transfer fail at
// the magic rather than somewhere in the weights.
var fileMagic = [8]byte{'L', 'R', 'R', 'N', '\r', '\n', 0x1a, '\n'}

// Errors returned (wrapped) by Load and Read. Every problem with a file's
// content matches ErrFormat; a checksum mismatch also matches ErrChecksum, a
// version this build does not know also matches ErrVersion, and a file that
// ends early also matches io.ErrUnexpectedEOF. Errors from the underlying
// reader or file system are returned wrapped and do not match ErrFormat.
var (
	ErrFormat   = errors.New("not a valid LRRN model file")
	ErrChecksum = errors.New("checksum mismatch")
	ErrVersion  = errors.New("unsupported model file version")
)

// FormatError describes a problem with the content of a model file: where
// it is and what is wrong. Its message reads like
// "lrrn: model.bin: offset 20: layer size d_1 = 2147483648 exceeds 4096".
type FormatError struct {
	File   string // the path given to Load; "" for Read
	Offset int64  // byte offset of the offending field from the start of the model
	Msg    string // what is wrong, naming the field
	Err    error  // nil, ErrChecksum, ErrVersion or io.ErrUnexpectedEOF
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("lrrn: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	b.WriteString("offset ")
	b.WriteString(strconv.FormatInt(e.Offset, 10))
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrFormat) true for every FormatError, and
// errors.Is(err, e.Err) for its specific kind.
func (e *FormatError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrFormat, e.Err}
	}
	return []error{ErrFormat}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ioChunk is the size of the buffer weights pass through on their way to
// and from the file.
const ioChunk = 1 << 16

// headerLen returns the number of bytes before the weights.
func headerLen(L, datasetLen, noteLen int) int {
	return 8 + 4 + 4 + 4*(L+1) + L + 8*L + 8 + 4 + 4 + 8 + 4 + datasetLen + 4 + noteLen
}

// checkMeta checks the metadata that a model file can store.
func checkMeta(mt *Meta) error {
	if len(mt.Dataset) > MaxDatasetLen {
		return fmt.Errorf("lrrn: dataset name is %d bytes, more than %d", len(mt.Dataset), MaxDatasetLen)
	}
	if !utf8.ValidString(mt.Dataset) {
		return fmt.Errorf("lrrn: dataset name %q is not valid UTF-8", mt.Dataset)
	}
	if mt.Epochs < 0 || int64(mt.Epochs) > math.MaxInt32 {
		return fmt.Errorf("lrrn: epochs = %d, want 0 … %d", mt.Epochs, math.MaxInt32)
	}
	if a := mt.TestAccuracy; !math.IsNaN(a) && !(a >= 0 && a <= 1) {
		return fmt.Errorf("lrrn: test accuracy = %v, want a value in [0,1] or NaN (unknown)", a)
	}
	if len(mt.Note) > MaxNoteLen {
		return fmt.Errorf("lrrn: note is %d bytes, more than %d", len(mt.Note), MaxNoteLen)
	}
	if !utf8.ValidString(mt.Note) {
		return fmt.Errorf("lrrn: note is not valid UTF-8")
	}
	return nil
}

// WriteTo writes the model in the file format (version FormatVersion) to w
// and returns the number of bytes written. It refuses a model that
// Validate rejects or whose metadata the format cannot hold, before writing
// anything.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	if err := checkMeta(&m.Meta); err != nil {
		return 0, err
	}
	return m.encode(w)
}

// encode writes m without validating it (tests use it to build files that
// Load must reject).
func (m *Model) encode(w io.Writer) (int64, error) {
	L := m.L()
	le := binary.LittleEndian
	h := make([]byte, 0, headerLen(L, len(m.Meta.Dataset), len(m.Meta.Note)))
	h = append(h, fileMagic[:]...)
	h = le.AppendUint32(h, FormatVersion)
	h = le.AppendUint32(h, uint32(L))
	for _, d := range m.Sizes {
		h = le.AppendUint32(h, uint32(d))
	}
	for _, a := range m.Acts {
		h = append(h, byte(a))
	}
	for _, b := range m.Beta {
		h = le.AppendUint64(h, math.Float64bits(b))
	}
	h = le.AppendUint64(h, math.Float64bits(m.Gamma))
	h = le.AppendUint32(h, uint32(m.Passes))
	h = le.AppendUint32(h, uint32(m.Meta.Epochs))
	h = le.AppendUint64(h, math.Float64bits(m.Meta.TestAccuracy))
	h = le.AppendUint32(h, uint32(len(m.Meta.Dataset)))
	h = append(h, m.Meta.Dataset...)
	h = le.AppendUint32(h, uint32(len(m.Meta.Note)))
	h = append(h, m.Meta.Note...)

	var n int64
	crc := uint32(0)
	write := func(p []byte) error {
		crc = crc32.Update(crc, castagnoli, p)
		k, err := w.Write(p)
		n += int64(k)
		if err == nil && k < len(p) {
			err = io.ErrShortWrite
		}
		return err
	}
	if err := write(h); err != nil {
		return n, err
	}
	buf := make([]byte, 0, ioChunk)
	writeFloats := func(v []float32) error {
		for len(v) > 0 {
			c := min(len(v), ioChunk/4)
			buf = buf[:0]
			for _, x := range v[:c] {
				buf = le.AppendUint32(buf, math.Float32bits(x))
			}
			if err := write(buf); err != nil {
				return err
			}
			v = v[c:]
		}
		return nil
	}
	for _, wk := range m.W {
		if err := writeFloats(wk); err != nil {
			return n, err
		}
	}
	for _, bk := range m.B {
		if err := writeFloats(bk); err != nil {
			return n, err
		}
	}
	var sum [4]byte
	le.PutUint32(sum[:], crc)
	k, err := w.Write(sum[:])
	n += int64(k)
	if err == nil && k < len(sum) {
		err = io.ErrShortWrite
	}
	return n, err
}

// Save writes the model to path atomically: it writes a temporary file in
// the same directory, syncs it to disk, renames it over path and syncs the
// directory. On failure path is left as it was (absent, or the previous
// file) and the temporary file is removed.
func (m *Model) Save(path string) (err error) {
	if err := m.Validate(); err != nil {
		return &saveError{path, err}
	}
	if err := checkMeta(&m.Meta); err != nil {
		return &saveError{path, err}
	}
	dir := filepath.Dir(path)
	f, tmp, err := createTemp(dir, filepath.Base(path))
	if err != nil {
		return &saveError{path, err}
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
			err = &saveError{path, err}
		}
	}()
	// Keep the permissions of a file we replace.
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		if err := f.Chmod(fi.Mode().Perm()); err != nil {
			return err
		}
	}
	bw := bufio.NewWriterSize(f, ioChunk)
	if _, err := m.encode(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	closed = true
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		// The new file is in place; only its durability is unconfirmed.
		return fmt.Errorf("renamed into place, but syncing directory %s failed: %w", dir, err)
	}
	return nil
}

// saveError prefixes an error with the path being saved, without repeating
// the package prefix.
type saveError struct {
	path string
	err  error
}

func (e *saveError) Error() string {
	return "lrrn: save " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "lrrn: ")
}

func (e *saveError) Unwrap() error { return e.err }

// tempPrefix is the name Save's temporary files for base start with; a
// base-36 suffix follows.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// RemoveStaleTemps removes the temporary files that Save leaves next to
// path when the process is killed while saving (.NAME.tmp-XXXX, NAME the
// base name of path) and returns their names. Call it only when no other
// process is saving to path.
func RemoveStaleTemps(path string) ([]string, error) {
	dir, prefix := filepath.Dir(path), tempPrefix(filepath.Base(path))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || suffix == "" || !e.Type().IsRegular() || strings.Trim(suffix, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if err := os.Remove(name); err != nil {
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// createTemp creates a new file for writing next to base in dir, with mode
// 0666 before the umask (os.CreateTemp would force 0600).
func createTemp(dir, base string) (*os.File, string, error) {
	for range 100 {
		name := filepath.Join(dir, tempPrefix(base)+strconv.FormatUint(rand.Uint64()&0xffffffffff, 36))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("cannot create a temporary file in %s", dir)
}

// syncDir makes a rename in dir durable. Windows cannot open a directory
// for syncing; there the rename is as durable as the file system makes it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Load reads a model file written by Save. The file must hold exactly one
// model: bytes after the checksum are an error.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lrrn: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	br := bufio.NewReaderSize(f, ioChunk)
	m, n, err := decodeModel(br, path, size, true)
	if err != nil {
		return nil, err
	}
	if _, err := br.ReadByte(); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("lrrn: %s: offset %d: %w", path, n, err)
		}
		return nil, &FormatError{File: path, Offset: n, Msg: "unexpected bytes after the checksum"}
	}
	return m, nil
}

// Read reads one model in the file format from r and consumes exactly its
// bytes, so further data may follow in the stream. If r has a Len method
// (bytes.Reader, strings.Reader, bytes.Buffer) or is an *os.File, sizes that
// need more bytes than remain are rejected before the weights are allocated;
// otherwise Read allocates the weights that the validated header describes
// (at most MaxWeights) and fails if the stream ends early.
func Read(r io.Reader) (*Model, error) {
	remaining := int64(-1)
	switch s := r.(type) {
	case interface{ Len() int }:
		remaining = int64(s.Len())
	case *os.File:
		if fi, err := s.Stat(); err == nil && fi.Mode().IsRegular() {
			if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
				remaining = fi.Size() - pos
			}
		}
	}
	m, _, err := decodeModel(r, "", remaining, false)
	return m, err
}

// modelDecoder reads a model field by field, keeping the offset and the
// running checksum.
type modelDecoder struct {
	r         io.Reader
	file      string
	off       int64
	remaining int64 // bytes known to be available from offset 0, or −1
	exact     bool  // the model must end exactly where the data ends (Load)
	crc       uint32
	buf       [ioChunk]byte
}

func (d *modelDecoder) errorf(off int64, kind error, format string, args ...any) error {
	return &FormatError{File: d.file, Offset: off, Msg: fmt.Sprintf(format, args...), Err: kind}
}

// read returns the next n ≤ ioChunk bytes, which hold field.
func (d *modelDecoder) read(n int, field string) ([]byte, error) {
	p := d.buf[:n]
	k, err := io.ReadFull(d.r, p)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, d.errorf(d.off, io.ErrUnexpectedEOF, "file ends inside %s after %d of %d bytes (truncated)", field, k, n)
		}
		prefix := "lrrn: "
		if d.file != "" {
			prefix += d.file + ": "
		}
		return nil, fmt.Errorf("%soffset %d: reading %s: %w", prefix, d.off, field, err)
	}
	d.crc = crc32.Update(d.crc, castagnoli, p)
	d.off += int64(n)
	return p, nil
}

func (d *modelDecoder) u32(field string) (uint32, error) {
	p, err := d.read(4, field)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (d *modelDecoder) f64(field string) (float64, error) {
	p, err := d.read(8, field)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(p)), nil
}

// str reads a length-prefixed UTF-8 string of at most max bytes.
func (d *modelDecoder) str(field string, max int) (string, error) {
	off := d.off
	n, err := d.u32("length of " + field)
	if err != nil {
		return "", err
	}
	if n > uint32(max) {
		return "", d.errorf(off, nil, "length of %s = %d exceeds %d", field, n, max)
	}
	if d.remaining >= 0 && int64(n) > d.remaining-d.off {
		return "", d.errorf(off, io.ErrUnexpectedEOF, "length of %s = %d, but only %d bytes remain (truncated)", field, n, d.remaining-d.off)
	}
	p, err := d.read(int(n), field)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(p) {
		return "", d.errorf(off+4, nil, "%s is not valid UTF-8", field)
	}
	return string(p), nil
}

// floats reads len(v) float32 values into v and returns the index and
// offset of the first that is not finite (−1 if none).
func (d *modelDecoder) floats(v []float32, field string) (int, int64, error) {
	bad, badOff := -1, int64(0)
	for i := 0; i < len(v); {
		c := min(len(v)-i, ioChunk/4)
		start := d.off
		p, err := d.read(4*c, field)
		if err != nil {
			return 0, 0, err
		}
		for j := range c {
			x := math.Float32frombits(binary.LittleEndian.Uint32(p[4*j:]))
			if bad < 0 && (x-x != 0) { // NaN or ±Inf
				bad, badOff = i+j, start+int64(4*j)
			}
			v[i+j] = x
		}
		i += c
	}
	return bad, badOff, nil
}

// decodeModel reads one model and returns it with the number of bytes
// consumed. remaining is the number of bytes available from the start of
// the model, or −1 when unknown; exact requires them all to be the model's.
func decodeModel(r io.Reader, file string, remaining int64, exact bool) (*Model, int64, error) {
	d := &modelDecoder{r: r, file: file, remaining: remaining, exact: exact}
	m, err := d.decode()
	return m, d.off, err
}

func (d *modelDecoder) decode() (*Model, error) {
	p, err := d.read(len(fileMagic), "magic")
	if err != nil {
		return nil, err
	}
	if [8]byte(p) != fileMagic {
		return nil, d.errorf(0, nil, "magic is % x, want % x (\"LRRN\\r\\n\\x1a\\n\"); not an LRRN model file", p, fileMagic[:])
	}

	version, err := d.u32("version")
	if err != nil {
		return nil, err
	}
	if version != FormatVersion {
		return nil, d.errorf(8, ErrVersion, "version %d is not supported (this build reads version %d)", version, FormatVersion)
	}

	L32, err := d.u32("number of weight layers L")
	if err != nil {
		return nil, err
	}
	if L32 < 1 || L32 > MaxLayers {
		return nil, d.errorf(12, nil, "number of weight layers L = %d, want 1 … %d", L32, MaxLayers)
	}
	L := int(L32)

	c := Config{Sizes: make([]int, L+1), Acts: make([]Activation, L), Beta: make([]float64, L)}
	weights := 0
	for k := range c.Sizes {
		off := d.off
		field := fmt.Sprintf("layer size d_%d", k)
		v, err := d.u32(field)
		if err != nil {
			return nil, err
		}
		limit := unitLimit(k)
		if v == 0 {
			return nil, d.errorf(off, nil, "%s = 0, want 1 … %d", field, limit)
		}
		if uint64(v) > uint64(limit) {
			return nil, d.errorf(off, nil, "%s = %d exceeds %d", field, v, limit)
		}
		c.Sizes[k] = int(v)
		if k > 0 {
			weights += c.Sizes[k] * c.Sizes[k-1]
			if weights > MaxWeights {
				return nil, d.errorf(off, nil, "%s = %d makes %d weights in W_0 … W_%d, exceeding %d", field, v, weights, k-1, MaxWeights)
			}
		}
	}
	for k := range c.Acts {
		off := d.off
		p, err := d.read(1, fmt.Sprintf("activation of layer %d", k+1))
		if err != nil {
			return nil, err
		}
		c.Acts[k] = Activation(p[0])
		if !c.Acts[k].Valid() {
			return nil, d.errorf(off, nil, "activation of layer %d = %d, want 0 (linear), 1 (relu) or 2 (hardsigmoid)", k+1, p[0])
		}
	}
	for k := range c.Beta {
		off := d.off
		b, err := d.f64(fmt.Sprintf("β_%d", k))
		if err != nil {
			return nil, err
		}
		if !(b >= 0) || math.IsInf(b, 0) {
			return nil, d.errorf(off, nil, "β_%d = %v, want a finite value ≥ 0", k, b)
		}
		c.Beta[k] = b
	}
	off := d.off
	if c.Gamma, err = d.f64("γ"); err != nil {
		return nil, err
	}
	if !(c.Gamma > 0 && c.Gamma <= 1) {
		return nil, d.errorf(off, nil, "γ = %v, want 0 < γ ≤ 1", c.Gamma)
	}
	off = d.off
	passes, err := d.u32("default passes")
	if err != nil {
		return nil, err
	}
	if passes < 1 || passes > 1<<20 {
		return nil, d.errorf(off, nil, "default passes = %d, want 1 … %d", passes, 1<<20)
	}
	c.Passes = int(passes)

	var mt Meta
	off = d.off
	epochs, err := d.u32("epochs")
	if err != nil {
		return nil, err
	}
	if epochs > math.MaxInt32 {
		return nil, d.errorf(off, nil, "epochs = %d exceeds %d", epochs, math.MaxInt32)
	}
	mt.Epochs = int(epochs)
	off = d.off
	if mt.TestAccuracy, err = d.f64("test accuracy"); err != nil {
		return nil, err
	}
	if a := mt.TestAccuracy; !math.IsNaN(a) && !(a >= 0 && a <= 1) {
		return nil, d.errorf(off, nil, "test accuracy = %v, want a value in [0,1] or NaN (unknown)", a)
	}
	if mt.Dataset, err = d.str("dataset name", MaxDatasetLen); err != nil {
		return nil, err
	}
	if mt.Note, err = d.str("note", MaxNoteLen); err != nil {
		return nil, err
	}

	units := 0
	for _, dk := range c.Sizes[1:] {
		units += dk
	}
	need := 4*int64(weights+units) + 4
	if d.remaining >= 0 && d.remaining-d.off != need {
		if d.remaining-d.off < need {
			return nil, d.errorf(d.off, io.ErrUnexpectedEOF, "the header describes %d bytes of weights, biases and checksum, but %d remain (truncated)", need, d.remaining-d.off)
		}
		if d.exact { // Load: the file must end with the checksum
			return nil, d.errorf(d.off, nil, "the header describes %d bytes of weights, biases and checksum, but %d remain", need, d.remaining-d.off)
		}
	}

	// The header is valid: allocate exactly what it describes, one array at
	// a time as the data arrives.
	m := &Model{Config: c, Meta: mt, W: make([][]float32, L), B: make([][]float32, L)}
	type badValue struct {
		i   int
		off int64
	}
	var badW, badB []badValue
	for k := range L {
		m.W[k] = make([]float32, c.Sizes[k+1]*c.Sizes[k])
		i, o, err := d.floats(m.W[k], fmt.Sprintf("W_%d", k))
		if err != nil {
			return nil, err
		}
		badW = append(badW, badValue{i, o})
	}
	for k := range L {
		m.B[k] = make([]float32, c.Sizes[k+1])
		i, o, err := d.floats(m.B[k], fmt.Sprintf("b_%d", k))
		if err != nil {
			return nil, err
		}
		badB = append(badB, badValue{i, o})
	}

	off = d.off
	want := d.crc
	got, err := d.u32("checksum")
	if err != nil {
		return nil, err
	}
	if got != want {
		return nil, d.errorf(off, ErrChecksum, "checksum is %08x, but the content before it sums to %08x (CRC-32C); the file is corrupt", got, want)
	}

	// Non-finite parameters are reported after the checksum, so that
	// corruption is called corruption; these come from a writer that stored
	// them deliberately.
	for k, b := range badW {
		if b.i >= 0 {
			cols := c.Sizes[k]
			return nil, d.errorf(b.off, nil, "W_%d[%d,%d] = %v is not finite", k, b.i/cols, b.i%cols, m.W[k][b.i])
		}
	}
	for k, b := range badB {
		if b.i >= 0 {
			return nil, d.errorf(b.off, nil, "b_%d[%d] = %v is not finite", k, b.i, m.B[k][b.i])
		}
	}
	if err := m.Validate(); err != nil { // cannot fail after the checks above
		return nil, d.errorf(0, nil, "%s", strings.TrimPrefix(err.Error(), "lrrn: "))
	}
	return m, nil
}
