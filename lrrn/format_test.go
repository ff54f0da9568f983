package lrrn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"github.com/lrrn/lrrn/internal/memtest"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite the model fixtures in ../testdata and the FuzzLoad seed corpus")

// formatSample returns a 5-3-2 model with every kind of field set: nonzero
// biases, β with a −0, metadata with non-ASCII text.
func formatSample(t testing.TB) *Model {
	m, err := NewRandom(Config{
		Sizes:  []int{5, 3, 2},
		Acts:   []Activation{HardSigmoid, Linear},
		Beta:   []float64{0.75, math.Copysign(0, -1)},
		Gamma:  0.125,
		Passes: 17,
	}, 42)
	require.NoError(t, err)
	for k := range m.B {
		for i := range m.B[k] {
			m.B[k][i] = float32(i+1) * 0.25 * float32(1-2*(k%2))
		}
	}
	m.W[0][3] = float32(math.Copysign(0, -1))
	m.Meta = Meta{Dataset: "mnist", Epochs: 3, TestAccuracy: 0.9721, Note: "lrrn train -β 0.75 — ünïcode"}
	return m
}

func encodeBytes(t testing.TB, m *Model) []byte {
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	require.NoError(t, err)
	require.EqualValues(t, buf.Len(), n)
	return buf.Bytes()
}

// requireSameModel compares two models bit for bit (NaN-safe).
func requireSameModel(t *testing.T, want, got *Model) {
	t.Helper()
	require.Equal(t, want.Sizes, got.Sizes)
	require.Equal(t, want.Acts, got.Acts)
	require.Equal(t, len(want.Beta), len(got.Beta))
	for k := range want.Beta {
		require.Equal(t, math.Float64bits(want.Beta[k]), math.Float64bits(got.Beta[k]), "β_%d", k)
	}
	require.Equal(t, math.Float64bits(want.Gamma), math.Float64bits(got.Gamma))
	require.Equal(t, want.Passes, got.Passes)
	require.Equal(t, want.Meta.Dataset, got.Meta.Dataset)
	require.Equal(t, want.Meta.Epochs, got.Meta.Epochs)
	require.Equal(t, want.Meta.Note, got.Meta.Note)
	require.Equal(t, math.Float64bits(want.Meta.TestAccuracy), math.Float64bits(got.Meta.TestAccuracy))
	require.Equal(t, len(want.W), len(got.W))
	for k := range want.W {
		require.Equal(t, len(want.W[k]), len(got.W[k]))
		for i := range want.W[k] {
			require.Equal(t, math.Float32bits(want.W[k][i]), math.Float32bits(got.W[k][i]), "W_%d[%d]", k, i)
		}
		require.Equal(t, len(want.B[k]), len(got.B[k]))
		for i := range want.B[k] {
			require.Equal(t, math.Float32bits(want.B[k][i]), math.Float32bits(got.B[k][i]), "b_%d[%d]", k, i)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	dir := t.TempDir()
	nanPayload := math.Float64frombits(0x7ff8_0000_dead_beef)
	big, err := NewRandom(Config{Sizes: []int{784, 64, 64, 10}, Acts: []Activation{ReLU, ReLU, Linear}, Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 20}, 9)
	require.NoError(t, err)
	cases := map[string]*Model{
		"sample":       formatSample(t),
		"nan-accuracy": func() *Model { m := formatSample(t); m.Meta.TestAccuracy = math.NaN(); return m }(),
		"nan-payload":  func() *Model { m := formatSample(t); m.Meta.TestAccuracy = nanPayload; return m }(),
		"empty-meta":   func() *Model { m := formatSample(t); m.Meta = Meta{TestAccuracy: math.NaN()}; return m }(),
		"max-meta": func() *Model {
			m := formatSample(t)
			m.Meta.Dataset = strings.Repeat("d", MaxDatasetLen)
			m.Meta.Note = strings.Repeat("n", MaxNoteLen)
			return m
		}(),
		"784-64-64-10": big,
		"single-layer": func() *Model {
			m, _ := NewRandom(Config{Sizes: []int{1, 1}, Acts: []Activation{Linear}, Beta: []float64{0}, Gamma: 1, Passes: 1}, 1)
			return m
		}(),
		"accuracy-ends": func() *Model { m := formatSample(t); m.Meta.TestAccuracy = 1; m.Meta.Epochs = math.MaxInt32; return m }(),
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".bin")
			require.NoError(t, m.Save(path))
			got, err := Load(path)
			require.NoError(t, err)
			requireSameModel(t, m, got)

			file, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, file, encodeBytes(t, got), "re-encoding a loaded model must give the file's bytes")
			require.Len(t, file, headerLen(m.L(), len(m.Meta.Dataset), len(m.Meta.Note))+4*(len(flat(m.W))+len(flat(m.B)))+4)

			fromReader, err := Read(bytes.NewReader(file))
			require.NoError(t, err)
			requireSameModel(t, m, fromReader)
		})
	}
}

func flat(v [][]float32) []float32 {
	var out []float32
	for _, x := range v {
		out = append(out, x...)
	}
	return out
}

// TestFormatLayout pins the documented byte layout (docs/model-format.md)
// of the 5-3-2 sample, field by field.
func TestFormatLayout(t *testing.T) {
	m := formatSample(t)
	b := encodeBytes(t, m)
	le := binary.LittleEndian
	assert.Equal(t, []byte("LRRN\r\n\x1a\n"), b[0:8])
	assert.EqualValues(t, 1, le.Uint32(b[8:]))
	assert.EqualValues(t, 2, le.Uint32(b[12:]))
	assert.EqualValues(t, []uint32{5, 3, 2}, []uint32{le.Uint32(b[16:]), le.Uint32(b[20:]), le.Uint32(b[24:])})
	assert.Equal(t, []byte{byte(HardSigmoid), byte(Linear)}, b[28:30])
	assert.Equal(t, 0.75, math.Float64frombits(le.Uint64(b[30:])))
	assert.Equal(t, uint64(1)<<63, le.Uint64(b[38:]), "β_1 = −0 kept bit for bit")
	assert.Equal(t, 0.125, math.Float64frombits(le.Uint64(b[46:])))
	assert.EqualValues(t, 17, le.Uint32(b[54:]))
	assert.EqualValues(t, 3, le.Uint32(b[58:]))
	assert.Equal(t, 0.9721, math.Float64frombits(le.Uint64(b[62:])))
	assert.EqualValues(t, 5, le.Uint32(b[70:]))
	assert.Equal(t, "mnist", string(b[74:79]))
	noteLen := int(le.Uint32(b[79:]))
	assert.Equal(t, m.Meta.Note, string(b[83:83+noteLen]))
	w := 83 + noteLen
	assert.Equal(t, headerLen(2, 5, noteLen), w)
	assert.Equal(t, m.W[0][7], math.Float32frombits(le.Uint32(b[w+4*7:])))
	assert.Equal(t, m.W[1][4], math.Float32frombits(le.Uint32(b[w+4*(15+4):])))
	assert.Equal(t, m.B[0][2], math.Float32frombits(le.Uint32(b[w+4*(21+2):])))
	assert.Equal(t, m.B[1][1], math.Float32frombits(le.Uint32(b[w+4*(24+1):])))
	end := w + 4*(21+5)
	require.Len(t, b, end+4)
	assert.Equal(t, le.Uint32(b[end:]), castagnoliSum(b[:end]))
}

// castagnoliSum is an independent bitwise CRC-32C (reflected polynomial
// 0x82F63B78), to check the checksum against its definition rather than
// against the same library call.
func castagnoliSum(p []byte) uint32 {
	crc := ^uint32(0)
	for _, x := range p {
		crc ^= uint32(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82f63b78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func TestFormatEverySingleByteCorruptionIsRejected(t *testing.T) {
	good := encodeBytes(t, formatSample(t))
	checksums := 0
	for pos := range good {
		for x := 1; x < 256; x++ {
			bad := bytes.Clone(good)
			bad[pos] ^= byte(x)
			_, err := Read(bytes.NewReader(bad))
			if err == nil {
				t.Fatalf("byte %d xor %#02x accepted", pos, x)
			}
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("byte %d xor %#02x: %v does not match ErrFormat", pos, x, err)
			}
			if errors.Is(err, ErrChecksum) {
				checksums++
			}
		}
	}
	// Corruption of the weights is caught by the checksum alone.
	assert.Greater(t, checksums, 255*26*4-1)
}

func TestFormatEveryTruncationIsRejected(t *testing.T) {
	good := encodeBytes(t, formatSample(t))
	dir := t.TempDir()
	for n := range len(good) {
		for _, r := range []io.Reader{bytes.NewReader(good[:n]), iotest.HalfReader(bytes.NewReader(good[:n]))} {
			_, err := Read(r)
			require.Error(t, err, "truncated to %d bytes", n)
			require.ErrorIs(t, err, ErrFormat, "truncated to %d bytes", n)
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "truncated to %d bytes", n)
		}
		path := filepath.Join(dir, "t.bin")
		require.NoError(t, os.WriteFile(path, good[:n], 0o644))
		_, err := Load(path)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, "truncated to %d bytes", n)
		require.Contains(t, err.Error(), path)
	}
}

func TestFormatTrailingBytes(t *testing.T) {
	good := encodeBytes(t, formatSample(t))
	path := filepath.Join(t.TempDir(), "m.bin")
	require.NoError(t, os.WriteFile(path, append(bytes.Clone(good), 0), 0o644))
	_, err := Load(path)
	require.ErrorIs(t, err, ErrFormat)
	require.Contains(t, err.Error(), fmt.Sprintf("offset %d:", headerLen(2, 5, len(formatSample(t).Meta.Note))))

	// Read consumes exactly one model and leaves the rest of the stream.
	two := append(bytes.Clone(good), good...)
	r := bytes.NewReader(two)
	_, err = Read(r)
	require.NoError(t, err)
	require.Equal(t, len(good), r.Len())
	_, err = Read(iotest.OneByteReader(r))
	require.NoError(t, err)
	require.Zero(t, r.Len())
}

// formatHeader returns the first bytes of a file for the given sizes (rest of
// the fields valid), up to and including the note.
func formatHeader(sizes ...uint32) []byte {
	le := binary.LittleEndian
	b := append([]byte(nil), fileMagic[:]...)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, uint32(len(sizes)-1))
	for _, d := range sizes {
		b = le.AppendUint32(b, d)
	}
	for range len(sizes) - 1 {
		b = append(b, byte(ReLU))
	}
	for range len(sizes) - 1 {
		b = le.AppendUint64(b, math.Float64bits(1))
	}
	b = le.AppendUint64(b, math.Float64bits(0.125))
	b = le.AppendUint32(b, 20)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint64(b, math.Float64bits(math.NaN()))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	return b
}

func TestFormatHugeHeaderRejectedBeforeAllocating(t *testing.T) {
	hdr := formatHeader(784, 1<<31, 10)
	var err error
	n := memtest.Allocated(func() { _, err = Read(bytes.NewReader(hdr)) })
	require.ErrorIs(t, err, ErrFormat)
	require.EqualError(t, err, "lrrn: offset 20: layer size d_1 = 2147483648 exceeds 4096")
	assert.Less(t, n, uint64(1<<20), "bytes allocated while rejecting the header")

	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, os.WriteFile(path, hdr, 0o644))
	_, err = Load(path)
	require.EqualError(t, err, "lrrn: "+path+": offset 20: layer size d_1 = 2147483648 exceeds 4096")

	// Sizes within the limits but a total beyond MaxWeights.
	_, err = Read(bytes.NewReader(formatHeader(1<<16, 1<<12, 2)))
	require.ErrorIs(t, err, ErrFormat)
	require.Contains(t, err.Error(), "offset 24: layer size d_2 = 2 makes 268443648 weights in W_0 … W_1, exceeding 268435456")

	// An input of MaxUnits is fine, a layer inference solves for is bounded
	// by MaxLayerUnits (its d×d block matrix), before anything is allocated.
	n = memtest.Allocated(func() { _, err = Read(bytes.NewReader(formatHeader(1, 1<<16, 2))) })
	require.EqualError(t, err, "lrrn: offset 20: layer size d_1 = 65536 exceeds 4096")
	assert.Less(t, n, uint64(1<<20), "bytes allocated while rejecting the header")

	// A valid header describing MaxWeights weights (1 GiB) followed by a few
	// bytes: rejected before the weights are allocated wherever the reader's
	// length is known.
	hdr = append(formatHeader(1<<16, 1<<12), make([]byte, 100)...)
	n = memtest.Allocated(func() { _, err = Read(bytes.NewReader(hdr)) })
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Contains(t, err.Error(), "but 100 remain (truncated)")
	assert.Less(t, n, uint64(1<<20), "bytes allocated while rejecting the header")
	require.NoError(t, os.WriteFile(path, hdr, 0o644))
	n = memtest.Allocated(func() { _, err = Load(path) })
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Less(t, n, uint64(1<<20), "bytes allocated while rejecting the header")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	n = memtest.Allocated(func() { _, err = Read(f) })
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Less(t, n, uint64(1<<20), "bytes allocated while rejecting the header")
}

// modify returns the sample's bytes with f applied; if fixCRC, the
// checksum is recomputed so that only f's change can be what is rejected.
func formatModify(t *testing.T, f func(b []byte) []byte, fixCRC bool) []byte {
	b := f(encodeBytes(t, formatSample(t)))
	if fixCRC {
		end := len(b) - 4
		binary.LittleEndian.PutUint32(b[end:], castagnoliSum(b[:end]))
	}
	return b
}

func TestFormatFieldErrors(t *testing.T) {
	le := binary.LittleEndian
	putF64 := func(off int, v float64) func([]byte) []byte {
		return func(b []byte) []byte { le.PutUint64(b[off:], math.Float64bits(v)); return b }
	}
	putU32 := func(off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { le.PutUint32(b[off:], v); return b }
	}
	note := len(formatSample(t).Meta.Note)
	w := headerLen(2, 5, note)
	cases := []struct {
		name string
		edit func([]byte) []byte
		msg  string
		kind error
	}{
		{"magic", func(b []byte) []byte { b[3] = 'M'; return b }, "lrrn: offset 0: magic is 4c 52 52 4d 0d 0a 1a 0a, want 4c 52 52 4e 0d 0a 1a 0a", nil},
		{"version", putU32(8, 2), "lrrn: offset 8: version 2 is not supported (this build reads version 1)", ErrVersion},
		{"L=0", putU32(12, 0), "lrrn: offset 12: number of weight layers L = 0, want 1 … 64", nil},
		{"L=65", putU32(12, 65), "lrrn: offset 12: number of weight layers L = 65, want 1 … 64", nil},
		{"d_2=0", putU32(24, 0), "lrrn: offset 24: layer size d_2 = 0, want 1 … 4096", nil},
		{"act", func(b []byte) []byte { b[29] = 3; return b }, "lrrn: offset 29: activation of layer 2 = 3, want 0 (linear), 1 (relu) or 2 (hardsigmoid)", nil},
		{"β<0", putF64(38, -1), "lrrn: offset 38: β_1 = -1, want a finite value ≥ 0", nil},
		{"β NaN", putF64(30, math.NaN()), "lrrn: offset 30: β_0 = NaN, want a finite value ≥ 0", nil},
		{"β Inf", putF64(30, math.Inf(1)), "lrrn: offset 30: β_0 = +Inf, want a finite value ≥ 0", nil},
		{"γ=0", putF64(46, 0), "lrrn: offset 46: γ = 0, want 0 < γ ≤ 1", nil},
		{"γ>1", putF64(46, 1.5), "lrrn: offset 46: γ = 1.5, want 0 < γ ≤ 1", nil},
		{"passes", putU32(54, 0), "lrrn: offset 54: default passes = 0, want 1 … 1048576", nil},
		{"epochs", putU32(58, 1<<31), "lrrn: offset 58: epochs = 2147483648 exceeds 2147483647", nil},
		{"accuracy", putF64(62, 1.5), "lrrn: offset 62: test accuracy = 1.5, want a value in [0,1] or NaN (unknown)", nil},
		{"accuracy Inf", putF64(62, math.Inf(-1)), "lrrn: offset 62: test accuracy = -Inf, want a value in [0,1] or NaN (unknown)", nil},
		{"dataset length", putU32(70, 257), "lrrn: offset 70: length of dataset name = 257 exceeds 256", nil},
		{"dataset length beyond data", putU32(70, 256), "lrrn: offset 70: length of dataset name = 256, but only", io.ErrUnexpectedEOF},
		{"dataset UTF-8", func(b []byte) []byte { b[75] = 0xff; return b }, "lrrn: offset 74: dataset name is not valid UTF-8", nil},
		{"note length", putU32(79, MaxNoteLen+1), "lrrn: offset 79: length of note = 65537 exceeds 65536", nil},
		{"W NaN", func(b []byte) []byte {
			le.PutUint32(b[w+4*(15+1*3+2):], math.Float32bits(float32(math.NaN())))
			return b
		}, fmt.Sprintf("lrrn: offset %d: W_1[1,2] = NaN is not finite", w+4*(15+5)), nil},
		{"b Inf", func(b []byte) []byte { le.PutUint32(b[w+4*(21+1):], math.Float32bits(float32(math.Inf(-1)))); return b }, fmt.Sprintf("lrrn: offset %d: b_0[1] = -Inf is not finite", w+4*22), nil},
		{"checksum", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, fmt.Sprintf("lrrn: offset %d: checksum is", w+4*26), ErrChecksum},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := formatModify(t, c.edit, c.kind != ErrChecksum)
			_, err := Read(bytes.NewReader(b))
			require.ErrorIs(t, err, ErrFormat)
			require.True(t, strings.HasPrefix(err.Error(), c.msg), "got  %q\nwant %q…", err, c.msg)
			if c.kind != nil {
				require.ErrorIs(t, err, c.kind)
			}
			for _, other := range []error{ErrChecksum, ErrVersion, io.ErrUnexpectedEOF} {
				if other != c.kind {
					require.NotErrorIs(t, err, other)
				}
			}
			var fe *FormatError
			require.ErrorAs(t, err, &fe)
		})
	}
}

func TestFormatNonFiniteWeightsNamed(t *testing.T) {
	m := formatSample(t)
	m.W[1][1*3+2] = float32(math.NaN())
	path := filepath.Join(t.TempDir(), "m.bin")
	err := m.Save(path)
	require.EqualError(t, err, "lrrn: save "+path+": W_1[1,2] = NaN is not finite")
	_, statErr := os.Stat(path)
	require.ErrorIs(t, statErr, fs.ErrNotExist)
	_, err = m.WriteTo(io.Discard)
	require.EqualError(t, err, "lrrn: W_1[1,2] = NaN is not finite")

	// A file written without validation: Load names the weight and offset.
	var buf bytes.Buffer
	_, err = m.encode(&buf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	_, err = Load(path)
	w := headerLen(2, len(m.Meta.Dataset), len(m.Meta.Note))
	require.EqualError(t, err, fmt.Sprintf("lrrn: %s: offset %d: W_1[1,2] = NaN is not finite", path, w+4*(3*5+1*3+2)))

	m = formatSample(t)
	m.B[0][2] = float32(math.Inf(1))
	require.EqualError(t, m.Save(path), "lrrn: save "+path+": b_0[2] = +Inf is not finite")
}

func TestSaveRejectsMetaTheFormatCannotHold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.bin")
	for name, edit := range map[string]func(*Meta){
		"dataset too long": func(mt *Meta) { mt.Dataset = strings.Repeat("x", MaxDatasetLen+1) },
		"note too long":    func(mt *Meta) { mt.Note = strings.Repeat("x", MaxNoteLen+1) },
		"note not UTF-8":   func(mt *Meta) { mt.Note = "\xff" },
		"negative epochs":  func(mt *Meta) { mt.Epochs = -1 },
		"accuracy > 1":     func(mt *Meta) { mt.TestAccuracy = 1.01 },
		"accuracy -Inf":    func(mt *Meta) { mt.TestAccuracy = math.Inf(-1) },
	} {
		m := formatSample(t)
		edit(&m.Meta)
		require.Error(t, m.Save(path), name)
		_, err := m.WriteTo(io.Discard)
		require.Error(t, err, name)
		_, err = os.Stat(path)
		require.ErrorIs(t, err, fs.ErrNotExist, name)
	}
}

func TestSaveToMissingDirectoryFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "no", "such", "dir", "m.bin")
	err := formatSample(t).Save(path)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Contains(t, err.Error(), "lrrn: save "+path+": ")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestSaveReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.bin")
	a := formatSample(t)
	require.NoError(t, a.Save(path))
	require.NoError(t, os.Chmod(path, 0o600))

	b := formatSample(t)
	b.W[0][0] += 1
	b.Meta.Note = "second"
	require.NoError(t, b.Save(path))
	got, err := Load(path)
	require.NoError(t, err)
	requireSameModel(t, b, got)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "permissions of the replaced file are kept")

	// A failed save leaves the previous file untouched.
	bad := formatSample(t)
	bad.Gamma = 0
	require.Error(t, bad.Save(path))
	got, err = Load(path)
	require.NoError(t, err)
	requireSameModel(t, b, got)

	// Saving onto a directory fails and leaves no temporary file.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	require.Error(t, a.Save(filepath.Join(dir, "sub")))

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"model.bin", "sub"}, names, "no temporary files left")
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.bin"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NotErrorIs(t, err, ErrFormat)
}

// The fixtures in ../testdata are regenerated with
//
//	go test ./lrrn/ -run TestFormatFixtures -update-fixtures
//
// and otherwise checked: the committed bytes must be what this build writes
// for the documented recipe (testdata/README.md).
func formatFixtures(t testing.TB) map[string]*Model {
	tiny, err := NewRandom(Config{Sizes: []int{5, 4, 3}, Acts: []Activation{ReLU, Linear}, Beta: []float64{1, 0}, Gamma: 0.125, Passes: 20}, 1)
	require.NoError(t, err)
	for k := range tiny.B {
		for i := range tiny.B[k] {
			tiny.B[k][i] = float32(i+1) / 10 * float32(1-2*((i+k)%2)) // 0.1, −0.2, 0.3, … alternating
		}
	}
	tiny.Meta.Note = "test fixture: NewRandom seed 1, biases ±(i+1)/10; see testdata/README.md"
	big, err := NewRandom(Config{Sizes: []int{784, 64, 64, 10}, Acts: []Activation{ReLU, ReLU, Linear}, Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 20}, 1)
	require.NoError(t, err)
	big.Meta.Note = "test fixture: NewRandom seed 1, untrained; see testdata/README.md"
	return map[string]*Model{"tiny-5-4-3.bin": tiny, "random-784-64-64-10.bin": big}
}

func TestFormatFixtures(t *testing.T) {
	for name, m := range formatFixtures(t) {
		path := filepath.Join("..", "testdata", name)
		if *updateFixtures {
			require.NoError(t, m.Save(path))
		}
		got, err := Load(path)
		require.NoError(t, err, "regenerate with: go test ./lrrn/ -run TestFormatFixtures -update-fixtures")
		requireSameModel(t, m, got)
	}
	if *updateFixtures {
		writeFuzzLoadCorpus(t)
	}
}

func fuzzLoadSeeds(t testing.TB) map[string][]byte {
	sample := encodeBytes(t, formatSample(t))
	one, err := NewRandom(Config{Sizes: []int{1, 1}, Acts: []Activation{Linear}, Beta: []float64{0}, Gamma: 1, Passes: 1}, 1)
	require.NoError(t, err)
	three, err := NewRandom(Config{Sizes: []int{3, 2, 2, 1}, Acts: []Activation{HardSigmoid, ReLU, Linear}, Beta: []float64{1, 0.5, 0}, Gamma: 0.5, Passes: 3}, 5)
	require.NoError(t, err)
	three.Meta = Meta{Dataset: "kmnist", Epochs: 100, TestAccuracy: 0.858, Note: "n"}
	return map[string][]byte{
		"sample-5-3-2":    sample,
		"model-1-1":       encodeBytes(t, one),
		"model-3-2-2-1":   encodeBytes(t, three),
		"header-only":     sample[:83+len(formatSample(t).Meta.Note)],
		"huge-size":       formatHeader(784, 1<<31, 10),
		"max-weights":     formatHeader(1<<16, 1<<12),
		"sample-trailing": append(bytes.Clone(sample), 1, 2, 3),
	}
}

func writeFuzzLoadCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, b := range fuzzLoadSeeds(t) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644))
	}
}

// FuzzLoad: Read never panics, reports only format errors for in-memory
// input, and whatever it accepts re-encodes to exactly the bytes it read.
func FuzzLoad(f *testing.F) {
	for _, b := range fuzzLoadSeeds(f) {
		f.Add(b)
	}
	check := func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		m, err := Read(r)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not matching ErrFormat: %v", err)
			}
			return
		}
		used := len(data) - r.Len()
		var buf bytes.Buffer
		if _, err := m.WriteTo(&buf); err != nil {
			t.Fatalf("accepted model does not write: %v", err)
		}
		if !bytes.Equal(buf.Bytes(), data[:used]) {
			t.Fatalf("re-encoding differs from the %d bytes read", used)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data)
		// Mutations almost never keep the checksum right; repair it so that
		// the checks after it (and the re-encoding) see mutated content too.
		if n := len(data); n >= 4 {
			fixed := bytes.Clone(data)
			binary.LittleEndian.PutUint32(fixed[n-4:], castagnoliSum(fixed[:n-4]))
			check(t, fixed)
		}
	})
}

func BenchmarkFormat(b *testing.B) {
	m, err := NewRandom(Config{Sizes: []int{784, 64, 64, 10}, Acts: []Activation{ReLU, ReLU, Linear}, Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 20}, 1)
	require.NoError(b, err)
	data := encodeBytes(b, m)
	b.Run("WriteTo", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := m.WriteTo(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Read", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Read(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRemoveStaleTemps: the temporary files a killed Save leaves next to a
// path are removed, and nothing else (other names, other models' temps).
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.bin")
	stale := []string{".ck.bin.tmp-1x9z", ".ck.bin.tmp-0"}
	keep := []string{"ck.bin", ".ck.bin.tmp-", ".ck.bin.tmp-ABC", ".other.bin.tmp-123", "ck.bin.tmp-123", ".ck.bin.tmp-12.bak"}
	for _, n := range append(append([]string(nil), stale...), keep...) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644))
	}
	// A temp file as Save names it.
	f, name, err := createTemp(dir, "ck.bin")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	removed, err := RemoveStaleTemps(path)
	require.NoError(t, err)
	want := []string{name}
	for _, n := range stale {
		want = append(want, filepath.Join(dir, n))
	}
	assert.ElementsMatch(t, want, removed)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	assert.ElementsMatch(t, keep, left)
}
