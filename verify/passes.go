package verify

import (
	"math"

	"github.com/lrrn/lrrn/lrrn"
)

// passQueue is a tile of inputs that all had the same number of passes
// and need more.
type passQueue struct {
	n    int
	v    []float32 // TileSize×d1
	xn   []float64
	lab  []int
	idx  []int     // where the certificate goes (scratch.out)
	prev []float64 // MarginLower before this round
	st   *lrrn.States
	cert []Certificate
	aux  []aux
}

// queueAt returns the queue of stage s, allocating it on first use.
func (c *Certifier) queueAt(sc *scratch, s int) *passQueue {
	for len(sc.queue) <= s {
		sc.queue = append(sc.queue, nil)
	}
	if q := sc.queue[s]; q != nil {
		return q
	}
	T := lrrn.TileSize
	q := &passQueue{v: make([]float32, T*c.d1), xn: make([]float64, T), lab: make([]int, T), idx: make([]int, T), prev: make([]float64, T),
		st: c.solver.NewStates(T), cert: make([]Certificate, T), aux: make([]aux, T)}
	sc.queue[s] = q
	return q
}

// needsPasses reports whether an input's certificate is still limited by
// the inference error: the part of the margin it loses that more passes
// can remove — the loss scaled by the share of StateError above the
// rounding floor eErr, which passes do not reduce — exceeds AdaptiveTol of
// the margin.
func (c *Certifier) needsPasses(cert *Certificate, a *aux) bool {
	E := cert.StateError
	if math.IsInf(E, 0) || cert.Pred < 0 || !(E > 0) {
		return false
	}
	return a.loss*(1-a.eErr/E) > c.tol*math.Abs(cert.Margin)
}

// stagePasses returns the total passes of an input after stage s of the
// schedule: Passes·2^s, capped at MaxPasses.
func (c *Certifier) stagePasses(s int) int {
	p := c.opts.Passes
	for ; s > 0 && p < c.maxPasses; s-- {
		p *= 2
	}
	return min(p, c.maxPasses)
}

// enqueue adds input j of st (its input part v, ‖x‖ bound, label, the
// index of its certificate and its current MarginLower) to the queue of
// stage s, running the queue when it is full.
func (c *Certifier) enqueue(sc *scratch, s int, v []float32, xn float64, lab, idx int, lower float64, st *lrrn.States, j int) {
	q := c.queueAt(sc, s)
	i := q.n
	copy(q.v[i*c.d1:(i+1)*c.d1], v)
	q.xn[i], q.lab[i], q.idx[i], q.prev[i] = xn, lab, idx, lower
	for k := 1; k <= c.numL; k++ {
		copy(q.st.Layer(k, i), st.Layer(k, j))
	}
	q.n++
	if q.n == lrrn.TileSize {
		c.runQueue(sc, s)
	}
}

// runQueue runs the next round of passes on the inputs of stage s (a full
// tile; a partial one is padded with zero inputs and zero states),
// certifies them and passes on those that still need more.
func (c *Certifier) runQueue(sc *scratch, s int) {
	q := sc.queue[s]
	n, T := q.n, lrrn.TileSize
	if n == 0 {
		return
	}
	clear(q.v[n*c.d1:])
	for k := 1; k <= c.numL; k++ {
		clear(q.st.Z[k][n*c.m.Sizes[k]:])
	}
	from, to := c.stagePasses(s), c.stagePasses(s+1)
	if err := c.solver.ContinueFreeWithInput(sc.ws, q.v, T, to-from, q.st); err != nil {
		panic(err)
	}
	c.evaluate(sc, q.st, q.v, q.xn, q.lab[:n], n, q.cert, to, q.aux)
	q.n = 0 // the queue can refill while its inputs move on
	for j := 0; j < n; j++ {
		ct := &q.cert[j]
		sc.out[q.idx[j]] = *ct
		// Continue while the certificate is limited by the inference
		// error and the last round still gained more than AdaptiveTol of
		// the margin (it stops gaining at the float32 floor of the
		// iterate's residual).
		gained := ct.MarginLower-q.prev[j] > c.tol*math.Abs(ct.Margin)
		if to < c.maxPasses && gained && c.needsPasses(ct, &q.aux[j]) {
			c.enqueue(sc, s+1, q.v[j*c.d1:(j+1)*c.d1], q.xn[j], q.lab[j], q.idx[j], ct.MarginLower, q.st, j)
			continue
		}
		if sc.final != nil {
			sc.final(q.idx[j], q.st, j)
		}
	}
}

// flush finishes every input still waiting for passes, stage by stage.
func (c *Certifier) flush(sc *scratch) {
	for s := 0; s < len(sc.queue); s++ {
		if sc.queue[s] != nil && sc.queue[s].n > 0 {
			c.runQueue(sc, s)
		}
	}
}

// drop forgets the waiting inputs (a cancelled batch).
func (c *Certifier) drop(sc *scratch) {
	for _, q := range sc.queue {
		if q != nil {
			q.n = 0
		}
	}
}
