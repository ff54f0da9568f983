package lrrn

// Reading the model file format (format.go has the layout).

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"strings"
	"unicode/utf8"
)

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
	c, weights, err := d.config()
	if err != nil {
		return nil, err
	}
	mt, err := d.meta()
	if err != nil {
		return nil, err
	}
	if err := d.checkRemaining(c, weights); err != nil {
		return nil, err
	}
	return d.params(c, mt)
}

// config reads the header's configuration: the magic, the version, L, the
// layer sizes, activations, β, γ and the default passes. It also returns
// the number of weights the sizes describe.
func (d *modelDecoder) config() (Config, int, error) {
	L, err := d.layers()
	if err != nil {
		return Config{}, 0, err
	}
	c := Config{Sizes: make([]int, L+1), Acts: make([]Activation, L), Beta: make([]float64, L)}
	weights, err := d.sizes(c.Sizes)
	if err != nil {
		return Config{}, 0, err
	}
	for k := range c.Acts {
		off := d.off
		p, err := d.read(1, fmt.Sprintf("activation of layer %d", k+1))
		if err != nil {
			return Config{}, 0, err
		}
		c.Acts[k] = Activation(p[0])
		if !c.Acts[k].Valid() {
			return Config{}, 0, d.errorf(off, nil, "activation of layer %d = %d, want 0 (linear), 1 (relu) or 2 (hardsigmoid)", k+1, p[0])
		}
	}
	for k := range c.Beta {
		off := d.off
		b, err := d.f64(fmt.Sprintf("β_%d", k))
		if err != nil {
			return Config{}, 0, err
		}
		if !(b >= 0) || math.IsInf(b, 0) {
			return Config{}, 0, d.errorf(off, nil, "β_%d = %v, want a finite value ≥ 0", k, b)
		}
		c.Beta[k] = b
	}
	off := d.off
	if c.Gamma, err = d.f64("γ"); err != nil {
		return Config{}, 0, err
	}
	if !(c.Gamma > 0 && c.Gamma <= 1) {
		return Config{}, 0, d.errorf(off, nil, "γ = %v, want 0 < γ ≤ 1", c.Gamma)
	}
	off = d.off
	passes, err := d.u32("default passes")
	if err != nil {
		return Config{}, 0, err
	}
	if passes < 1 || passes > 1<<20 {
		return Config{}, 0, d.errorf(off, nil, "default passes = %d, want 1 … %d", passes, 1<<20)
	}
	c.Passes = int(passes)
	return c, weights, nil
}

// layers reads the magic, the version and L.
func (d *modelDecoder) layers() (int, error) {
	p, err := d.read(len(fileMagic), "magic")
	if err != nil {
		return 0, err
	}
	if [8]byte(p) != fileMagic {
		return 0, d.errorf(0, nil, "magic is % x, want % x (\"LRRN\\r\\n\\x1a\\n\"); not an LRRN model file", p, fileMagic[:])
	}

	version, err := d.u32("version")
	if err != nil {
		return 0, err
	}
	if version != FormatVersion {
		return 0, d.errorf(8, ErrVersion, "version %d is not supported (this build reads version %d)", version, FormatVersion)
	}

	L32, err := d.u32("number of weight layers L")
	if err != nil {
		return 0, err
	}
	if L32 < 1 || L32 > MaxLayers {
		return 0, d.errorf(12, nil, "number of weight layers L = %d, want 1 … %d", L32, MaxLayers)
	}
	return int(L32), nil
}

// sizes reads d_0 … d_L into sizes and returns the number of weights they
// describe, checked against MaxWeights as each size arrives.
func (d *modelDecoder) sizes(sizes []int) (int, error) {
	weights := 0
	for k := range sizes {
		off := d.off
		field := fmt.Sprintf("layer size d_%d", k)
		v, err := d.u32(field)
		if err != nil {
			return 0, err
		}
		limit := unitLimit(k)
		if v == 0 {
			return 0, d.errorf(off, nil, "%s = 0, want 1 … %d", field, limit)
		}
		if uint64(v) > uint64(limit) {
			return 0, d.errorf(off, nil, "%s = %d exceeds %d", field, v, limit)
		}
		sizes[k] = int(v)
		if k > 0 {
			weights += sizes[k] * sizes[k-1]
			if weights > MaxWeights {
				return 0, d.errorf(off, nil, "%s = %d makes %d weights in W_0 … W_%d, exceeding %d", field, v, weights, k-1, MaxWeights)
			}
		}
	}
	return weights, nil
}

// meta reads the metadata: epochs, test accuracy, dataset name and note.
func (d *modelDecoder) meta() (Meta, error) {
	var mt Meta
	off := d.off
	epochs, err := d.u32("epochs")
	if err != nil {
		return Meta{}, err
	}
	if epochs > math.MaxInt32 {
		return Meta{}, d.errorf(off, nil, "epochs = %d exceeds %d", epochs, math.MaxInt32)
	}
	mt.Epochs = int(epochs)
	off = d.off
	if mt.TestAccuracy, err = d.f64("test accuracy"); err != nil {
		return Meta{}, err
	}
	if a := mt.TestAccuracy; !math.IsNaN(a) && !(a >= 0 && a <= 1) {
		return Meta{}, d.errorf(off, nil, "test accuracy = %v, want a value in [0,1] or NaN (unknown)", a)
	}
	if mt.Dataset, err = d.str("dataset name", MaxDatasetLen); err != nil {
		return Meta{}, err
	}
	if mt.Note, err = d.str("note", MaxNoteLen); err != nil {
		return Meta{}, err
	}
	return mt, nil
}

// checkRemaining checks, when the size of the data is known, that the
// weights, biases and checksum the header describes are there (and, for
// Load, nothing after them), before they are allocated.
func (d *modelDecoder) checkRemaining(c Config, weights int) error {
	units := 0
	for _, dk := range c.Sizes[1:] {
		units += dk
	}
	need := 4*int64(weights+units) + 4
	if d.remaining >= 0 && d.remaining-d.off != need {
		if d.remaining-d.off < need {
			return d.errorf(d.off, io.ErrUnexpectedEOF, "the header describes %d bytes of weights, biases and checksum, but %d remain (truncated)", need, d.remaining-d.off)
		}
		if d.exact { // Load: the file must end with the checksum
			return d.errorf(d.off, nil, "the header describes %d bytes of weights, biases and checksum, but %d remain", need, d.remaining-d.off)
		}
	}
	return nil
}

// params reads the weights, biases and checksum the valid header c
// describes and returns the model.
func (d *modelDecoder) params(c Config, mt Meta) (*Model, error) {
	L := c.L()
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

	off := d.off
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
