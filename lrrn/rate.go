package lrrn

import (
	"math"
	"math/rand/v2"
	"sync"

	"github.com/lrrn/lrrn/asm"
)

// Choosing the sweeps per pass (docs/math.md, "Inner sweeps"). Near the
// minimiser, where the active bounds no longer change, a BCD pass maps the
// distance to the minimiser linearly: e ← M_S e, with M_S the pass of the
// unconstrained problem with zero input and S sweeps per block. Its
// spectral radius ρ_S is the contraction per pass. When the blocks' own
// Gauss–Seidel sweeps converge slowly (large weights), ρ_S falls with S
// almost as ρ_1^S; when the coupling between the layers limits, extra
// sweeps change nothing. The work of a pass per input is that of its
// right-hand sides plus S sweeps, so the work to shrink the error by a
// fixed factor is (rhs + S·sweep)/log(1/ρ_S) — bounded below by the
// passes inference runs anyway.

// autoSweepsMax bounds the sweeps AutoSweeps chooses: beyond 4, measured
// gains on the certified-robust models were within the noise while the
// passes come close to the floor that passes as needed start from.
const autoSweepsMax = 4

// rateIters is the number of power-iteration passes of PassRate, the
// first third of them discarded.
const rateIters = 45

// PassRate estimates the factor by which one pass of free inference with
// the given sweeps per block shrinks the distance to the minimiser close
// to it: the growth per pass of a power iteration on the pass's error map
// (zero input and biases, no bounds), geometric mean over the last two
// thirds of rateIters passes. It is an estimate for choosing settings,
// never an input of a certificate.
func (s *Solver) PassRate(sweeps int) float64 {
	p := &s.free
	m := s.m
	r := rand.New(rand.NewPCG(1, 2))
	z := make([][]float32, m.L()+2)
	maxD := 0
	for _, lp := range p.layers {
		z[lp.k] = make([]float32, lp.d)
		for i := range z[lp.k] {
			z[lp.k][i] = float32(r.NormFloat64())
		}
		maxD = max(maxD, lp.d)
	}
	inf := float32(math.Inf(1))
	c := make([]float32, maxD)
	var logSum float64
	skip := rateIters / 3
	for pass := range rateIters {
		var n2 float64
		for li := range p.layers {
			lp := &p.layers[li]
			k, d := lp.k, lp.d
			cc := c[:d]
			clear(cc)
			if lp.p != nil {
				asm.Gemm(cc, lp.p, z[k-1], d, m.Sizes[k-1], 1, true)
			}
			if lp.q != nil {
				asm.Gemm(cc, lp.q, z[k+1], d, m.Sizes[k+1], 1, true)
			}
			for range max(1, sweeps) {
				asm.Sweep(z[k], lp.h, cc, lp.invH, d, -inf, inf)
			}
		}
		for _, lp := range p.layers {
			for _, v := range z[lp.k] {
				n2 += float64(v) * float64(v)
			}
		}
		if !(n2 > 0) || math.IsInf(n2, 0) {
			return 0 // the error vanished (or overflowed: no estimate)
		}
		n := math.Sqrt(n2)
		if pass >= skip {
			logSum += math.Log(n)
		}
		for _, lp := range p.layers {
			for i := range z[lp.k] {
				z[lp.k][i] = float32(float64(z[lp.k][i]) / n)
			}
		}
	}
	return math.Exp(logSum / float64(rateIters-skip))
}

// passWork returns the multiply-adds per input of one free pass's
// right-hand sides (the first block's W_0 x is computed once per input)
// and of one sweep of every block.
func (s *Solver) passWork() (rhs, sweep float64) {
	m := s.m
	for _, lp := range s.free.layers {
		if lp.p != nil {
			rhs += float64(lp.d * m.Sizes[lp.k-1])
		}
		if lp.q != nil {
			rhs += float64(lp.d * m.Sizes[lp.k+1])
		}
		sweep += float64(lp.d * lp.d)
	}
	return rhs, sweep
}

// AutoSweeps returns the sweeps per pass, 1 … 4, that PassRate predicts
// to reach a given accuracy with the least work when inference runs
// passes in rounds, start passes first and then double (passes as needed
// in package verify): it minimises (rhs + 1.25·S·sweep) · P(n_S) over S,
// where n_S = log(1/tol)/log(1/ρ_S) are the passes to shrink the error by
// tol = e^{−9.5} (calibrated to the passes measured on six trained
// models), P(n) = start for n ≤ start, 2·start for n ≤ 2·start and n
// above, and a sweep is weighted 1.25 for its per-unit overhead against
// the right-hand sides' matrix products. It costs four power
// iterations of rateIters passes on one vector, run concurrently. For the
// paper's model it returns 1, for the certified-robust model of testdata 4
// (BenchmarkCertifySweeps in package verify measures both).
func (s *Solver) AutoSweeps(start int) int {
	S, _ := s.AutoSweepsRate(start)
	return S
}

// AutoSweepsRate is AutoSweeps that also returns the estimated
// contraction per pass of the count chosen (PassRate), which passes as
// needed use to schedule their rounds (package verify).
func (s *Solver) AutoSweepsRate(start int) (sweeps int, rate float64) {
	const logTol = 9.5 // log(1/tol)
	start = max(start, 1)
	rhs, sweep := s.passWork()
	// all four rates, concurrently (each on its own vectors): the cost is
	// not unimodal in S where ρ_S is close to 1 (a first rate estimate
	// that falls slowly)
	var rates [autoSweepsMax + 1]float64
	var wg sync.WaitGroup
	for S := 1; S <= autoSweepsMax; S++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rates[S] = s.PassRate(S)
		}()
	}
	wg.Wait()
	best, bestCost := 1, math.Inf(1)
	for S := 1; S <= autoSweepsMax; S++ {
		rho := rates[S]
		var passes float64
		switch n := logTol / -math.Log(rho); {
		case rho >= 1 || math.IsNaN(rho):
			passes = math.Inf(1) // no estimate: never preferred
		case n <= float64(start):
			passes = float64(start)
		case n <= float64(2*start):
			passes = float64(2 * start)
		default:
			passes = n
		}
		if cost := (rhs + 1.25*float64(S)*sweep) * passes; cost < bestCost {
			best, bestCost = S, cost
		}
	}
	return best, rates[best]
}
