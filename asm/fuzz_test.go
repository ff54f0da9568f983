package asm

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// Differential fuzz targets: each picks a tier (among the SIMD tiers of this
// machine; generic where there are none), a length or shape, a starting
// offset and values, and checks the tier with the same functions as the
// tests of kernels_test.go (checkDot, checkAxpy, checkClamp, checkMatVec,
// checkGemm, checkUnit, checkDot4x2: the reference within the rounding
// bound, clamp and Dot4x2's lane order bit for bit, every canary, unchanged
// inputs).
//
// Values: the first len(raw)/4 come from raw as float32 bits (the fuzzer
// mutates them into NaN payloads, infinities, subnormals…); the rest from a
// generator seeded by seed whose distribution mode selects: 0 uniform in
// [−1, 1), 1 any exponent from subnormal to overflow, 2 uniform with
// specials mixed in, 3 small integers.
//
//	go test ./asm -run XXX -fuzz FuzzDot -fuzztime 60s

type fuzzSrc struct {
	raw  []byte
	rng  *rand.Rand
	mode uint8
}

func newFuzzSrc(mode uint8, seed uint64, raw []byte) *fuzzSrc {
	return &fuzzSrc{raw: raw, rng: rand.New(rand.NewPCG(seed, uint64(mode))), mode: mode}
}

var fuzzSpecials = []float32{
	0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
	math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
	0x1p-126, 1e-30, 1e30, 1, -1,
}

func (s *fuzzSrc) float() float32 {
	if len(s.raw) >= 4 {
		v := math.Float32frombits(binary.LittleEndian.Uint32(s.raw))
		s.raw = s.raw[4:]
		return v
	}
	r := s.rng
	switch s.mode % 4 {
	case 1:
		e := r.IntN(280) - 151 // 2^-151 … 2^128: underflow to 0 through overflow to Inf
		v := float32(math.Ldexp(1+r.Float64(), e))
		if r.IntN(2) == 0 {
			v = -v
		}
		return v
	case 2:
		if r.IntN(8) == 0 {
			return fuzzSpecials[r.IntN(len(fuzzSpecials))]
		}
		return float32(r.Float64()*2 - 1)
	case 3:
		return float32(r.IntN(17) - 8)
	}
	return float32(r.Float64()*2 - 1)
}

// float64 is float for Dot4x2: raw bits 8 bytes at a time, else the mode's
// distribution on the float64 range (mode 1: 2^-1080 … 2^1030, through
// underflow and overflow; mode 2 mixes in the float32 specials and the
// float64 extremes).
func (s *fuzzSrc) float64() float64 {
	if len(s.raw) >= 8 {
		v := math.Float64frombits(binary.LittleEndian.Uint64(s.raw))
		s.raw = s.raw[8:]
		return v
	}
	r := s.rng
	switch s.mode % 4 {
	case 1:
		v := math.Ldexp(1+r.Float64(), r.IntN(2111)-1080)
		if r.IntN(2) == 0 {
			v = -v
		}
		return v
	case 2:
		switch r.IntN(16) {
		case 0:
			return float64(fuzzSpecials[r.IntN(len(fuzzSpecials))])
		case 1:
			return []float64{math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 0x1p-1022}[r.IntN(4)]
		}
		return r.Float64()*2 - 1
	case 3:
		return float64(r.IntN(17) - 8)
	}
	return r.Float64()*2 - 1
}

func (s *fuzzSrc) vec64(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = s.float64()
	}
	return v
}

func (s *fuzzSrc) vec(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = s.float()
	}
	return v
}

// bounds returns lo ≤ hi from the source (NaN replaced by −Inf / +Inf).
func (s *fuzzSrc) bounds() (lo, hi float32) {
	lo, hi = s.float(), s.float()
	if lo != lo {
		lo = float32(math.Inf(-1))
	}
	if hi != hi {
		hi = float32(math.Inf(1))
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi
}

// fuzzTier sets the tier to test and returns a function restoring the
// previous one.
func fuzzTier(t *testing.T, sel uint8) func() {
	var simd []Tier
	for _, tier := range Available() {
		if tier != Generic {
			simd = append(simd, tier)
		}
	}
	tier := Generic
	if len(simd) > 0 {
		tier = simd[int(sel)%len(simd)]
	}
	saved := CurrentTier()
	if err := SetTier(tier); err != nil {
		t.Fatal(err)
	}
	return func() { _ = SetTier(saved) }
}

var fuzzRaw = []byte{
	0x00, 0x00, 0x80, 0x7f, // +Inf
	0x01, 0x00, 0x00, 0x00, // smallest subnormal
	0xff, 0xff, 0x7f, 0x7f, // MaxFloat32
	0x01, 0x00, 0xc0, 0xff, // NaN with payload
	0x00, 0x00, 0x00, 0x80, // −0
}

func addSeeds(f *testing.F, shapes ...uint32) {
	for i, sh := range shapes {
		for mode := uint8(0); mode < 4; mode++ {
			f.Add(uint8(i), sh, uint8(i+int(mode)), mode|uint8(i%2)<<4, uint64(i)*7+uint64(mode), []byte(nil))
		}
		f.Add(uint8(i), sh, uint8(3), uint8(2), uint64(i), fuzzRaw)
	}
}

func FuzzDot(f *testing.F) {
	addSeeds(f, 0, 1, 15, 17, 33, 64, 65, 784, 1000)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		defer fuzzTier(t, sel)()
		n := int(shape % 1100)
		s := newFuzzSrc(mode, seed, raw)
		checkDot(t, s.vec(n), s.vec(n), int(off%8))
	})
}

func FuzzAxpy(f *testing.F) {
	addSeeds(f, 0, 1, 15, 17, 33, 64, 65, 784)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		defer fuzzTier(t, sel)()
		n := int(shape % 1100)
		s := newFuzzSrc(mode, seed, raw)
		alpha := s.float()
		checkAxpy(t, alpha, s.vec(n), s.vec(n), int(off%8))
	})
}

func FuzzClamp(f *testing.F) {
	addSeeds(f, 0, 1, 15, 17, 33, 64, 65, 784)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		defer fuzzTier(t, sel)()
		n := int(shape % 1100)
		s := newFuzzSrc(mode, seed, raw)
		lo, hi := s.bounds()
		checkClamp(t, s.vec(n), lo, hi, int(off%8))
	})
}

// matShape decodes m×n with m*n ≤ 60000.
func matShape(shape uint32) (m, n int) {
	m = 1 + int(shape%70)
	n = 1 + int(shape/70%800)
	for m*n > 60000 {
		n /= 2
	}
	return m, n
}

func FuzzMatVec(f *testing.F) {
	addSeeds(f, 63+70*783, 63+70*63, 9+70*63, 2+70*16, 0)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		fuzzMatVec(t, false, sel, shape, off, mode, seed, raw)
	})
}

// fuzzMatVec decodes a shape, acc (mode bit 4) and values for checkMatVec.
func fuzzMatVec(t *testing.T, trans bool, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
	defer fuzzTier(t, sel)()
	m, n := matShape(shape)
	s := newFuzzSrc(mode, seed, raw)
	a := s.vec(m * n)
	nx, ny := n, m
	if trans {
		nx, ny = m, n
	}
	x, y := s.vec(nx), s.vec(ny)
	checkMatVec(t, a, x, y, m, n, mode&0x10 != 0, trans, int(off%8))
}

func FuzzMatTVec(f *testing.F) {
	addSeeds(f, 63+70*783, 63+70*63, 9+70*63, 2+70*16, 0)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		fuzzMatVec(t, true, sel, shape, off, mode, seed, raw)
	})
}

// gemmShape decodes m, k, n with m·k·n ≤ 300000 (k up to kmax).
func gemmShape(shape uint32, kmax int) (m, k, n int) {
	m = 1 + int(shape%67)
	k = 1 + int(shape/67%uint32(kmax))
	n = 1 + int(shape/67/uint32(kmax)%140)
	for m*k*n > 300000 {
		k = (k + 1) / 2
	}
	return m, k, n
}

func fuzzGemm(t *testing.T, nt bool, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
	defer fuzzTier(t, sel)()
	kmax := 130
	if nt {
		kmax = 800
	}
	m, k, n := gemmShape(shape, kmax)
	o, acc := int(off%8), mode&0x10 != 0
	s := newFuzzSrc(mode, seed, raw)
	checkGemm(t, s.vec(m*k), s.vec(k*n), s.vec(m*n), m, k, n, nt, acc, o)
}

func FuzzGemm(f *testing.F) {
	addSeeds(f, 63+67*63+67*130*63, 9+67*63+67*130*63, 63+67*63+67*130*9, 2+67*16+67*130*2, 0)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		fuzzGemm(t, false, sel, shape, off, mode, seed, raw)
	})
}

func FuzzGemmNT(f *testing.F) {
	addSeeds(f, 63+67*783+67*800*63, 63+67*783+67*800*9, 3+67*16+67*800*4, 0)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		fuzzGemm(t, true, sel, shape, off, mode, seed, raw)
	})
}

func FuzzUnitUpdate(f *testing.F) {
	addSeeds(f, 63+80*63, 63+80*9, 63+80*31+80*140*5, 2+80*70, 0)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		defer fuzzTier(t, sel)()
		k := 1 + int(shape%80)
		tw := 1 + int(shape/80%140)
		row := int(shape/80/140) % k
		s := newFuzzSrc(mode, seed, raw)
		inv := s.float()
		if math.IsInf(float64(inv), 0) || inv != inv {
			inv = 0.5 // 1/H_ii of a positive definite H is finite
		}
		lo, hi := s.bounds()
		zs, h, ci := s.vec(k*tw), s.vec(k), s.vec(tw)
		checkUnit(t, zs, h, ci, row, k, tw, inv, lo, hi, int(off%8))
	})
}

func FuzzDot4x2(f *testing.F) {
	addSeeds(f, 0, 1, 3, 4, 5, 15, 16, 17, 63, 64, 65, 784, 1000)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		defer fuzzTier(t, sel)()
		n := int(shape % 1100)
		s := newFuzzSrc(mode, seed, raw)
		a := [4][]float64{s.vec64(n), s.vec64(n), s.vec64(n), s.vec64(n)}
		b := [2][]float64{s.vec64(n), s.vec64(n)}
		checkDot4x2(t, a, b, int(off%8))
	})
}
