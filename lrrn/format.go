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
