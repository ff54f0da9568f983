package verify

import (
	"math"
	"math/bits"

	"github.com/lrrn/lrrn/lrrn"
)

// passQueue is a tile of inputs that all had the same number of passes
// (from) and get the same number next (to).
type passQueue struct {
	from, to int
	n        int
	v        []float32 // TileSize×d1
	x        []float32 // TileSize×d0: the inputs (the float64 residual)
	xn       []float64
	lab      []int
	idx      []int     // where the certificate goes (scratch.out)
	prev     []float64 // MarginLower before this round
	prevL    []float64 // needsPasses' L before this round
	st       *lrrn.States
	cert     []Certificate
	aux      []aux
}

// queueFor returns the queue of inputs going from `from` to `to` passes,
// taking an empty one from the certifier's pool (or allocating one) on
// first use. Only queues that hold inputs are kept: a worker has at most
// as many as the distinct rounds its waiting inputs are in.
func (c *Certifier) queueFor(sc *scratch, from, to int) *passQueue {
	for _, q := range sc.queue {
		if q.from == from && q.to == to {
			return q
		}
	}
	var q *passQueue
	c.qmu.Lock()
	if k := len(c.qpool); k > 0 {
		q, c.qpool = c.qpool[k-1], c.qpool[:k-1]
	}
	c.qmu.Unlock()
	if q == nil {
		T := lrrn.TileSize
		q = &passQueue{v: make([]float32, T*c.d1), x: make([]float32, T*c.d0), xn: make([]float64, T), lab: make([]int, T), idx: make([]int, T),
			prev: make([]float64, T), prevL: make([]float64, T),
			st: c.solver.NewStates(T), cert: make([]Certificate, T), aux: make([]aux, T)}
	}
	q.from, q.to, q.n = from, to, 0
	sc.queue = append(sc.queue, q)
	return q
}

// detach removes q from the scratch's list of waiting queues (if there).
func (sc *scratch) detach(q *passQueue) {
	for i, o := range sc.queue {
		if o == q {
			sc.queue = append(sc.queue[:i], sc.queue[i+1:]...)
			return
		}
	}
}

// release detaches an empty queue from the scratch and returns it to the
// certifier's pool, shared by the workers (a queue can be filled by one
// worker and run by another).
func (c *Certifier) release(sc *scratch, q *passQueue) {
	sc.detach(q)
	c.qmu.Lock()
	c.qpool = append(c.qpool, q)
	c.qmu.Unlock()
}

// needsPasses returns L, the part of the margin an input loses to the
// inference error that more passes can remove — the loss scaled by the
// share of StateError above the rounding floor eErr, which passes do not
// reduce (0 when there is nothing to remove) —, and whether the
// certificate is still limited by the inference error: L exceeds
// AdaptiveTol of the margin.
func (c *Certifier) needsPasses(cert *Certificate, a *aux) (L float64, more bool) {
	E := cert.StateError
	if math.IsInf(E, 0) || cert.Pred < 0 || !(E > 0) {
		return 0, false
	}
	L = a.loss * (1 - a.eErr/E)
	return L, L > c.tol*math.Abs(cert.Margin)
}

// nextPasses returns the total passes of an input's next round, after
// `to` passes that left it losing L (see needsPasses) of margin m, and
// `from` passes before them that left it losing prevL (prevL = 0: no
// earlier round). BCD's linear convergence predicts the passes: the loss
// falls by r per pass, so it reaches AdaptiveTol·|m| after
// log(AdaptiveTol·|m|/L)/log r more passes. After a round r is measured,
// (L/prevL)^{1/(to−from)}; before the first extra round it is the
// model's estimated contraction per pass (c.rate, lrrn.Solver.PassRate;
// without one that round doubles the passes). The prediction is
// bounded to [1, to] more passes (never beyond doubling: a loss that
// falls slowly near the rounding floor would predict hundreds) and
// rounded up to a grid (every count up to 8, then the counts with three
// significant bits: 10, 12, 14, 16, 20, 24, …) so that inputs share
// rounds and tiles fill. An input whose prediction falls short is
// evaluated again and predicted anew; the schedule affects only the work
// done, never the soundness of a certificate (each is that of its final
// iterate).
func (c *Certifier) nextPasses(from, to int, prevL, L, m float64) int {
	next := 2 * to
	r := c.rate
	if prevL > 0 && to > from {
		r = math.Pow(L/prevL, 1/float64(to-from))
	}
	if L > 0 && r > 0 && r < 1 {
		k := math.Log(c.tol*math.Abs(m)/L) / math.Log(r)
		k = min(max(math.Ceil(k), 1), float64(to))
		next = to + int(k)
	}
	return min(gridUp(next), c.maxPasses)
}

// stalled reports whether an input's loss to the inference error fell
// from prevL to L over `passes` passes at less than half the log-rate
// the model's contraction estimate predicts: r > √c.rate per pass. BCD's
// error falls at about c.rate per pass or faster (lrrn.TestPassRate);
// a loss that falls that slowly is at the float32 floor of the iterate,
// which the rounding part of StateError (eErr) does not cover, and more
// passes would mostly repeat it. The input keeps its certificate. Without
// an estimate nothing stalls. It complements runQueue's gain test (the
// last round raised MarginLower by more than AdaptiveTol·|m|), which
// stops an input only once a whole round gains nothing: near the floor a
// doubled round can still gain a little and be followed by another.
func (c *Certifier) stalled(prevL, L float64, passes int) bool {
	if c.rate == 0 || !(prevL > 0) || !(L > 0) || passes <= 0 {
		return false
	}
	return math.Pow(L/prevL, 1/float64(passes)) > math.Sqrt(c.rate)
}

// gridUp rounds n up to the pass-count grid of nextPasses: n itself up to
// 8, above it the next count with three significant bits.
func gridUp(n int) int {
	if n <= 8 {
		return n
	}
	e := bits.Len(uint(n)) - 3
	return (n + 1<<e - 1) >> e << e
}

// enqueue adds input j of st (its input part v, pixels x, ‖x‖ bound,
// label, the index of its certificate, its current MarginLower and L of
// needsPasses) to the queue of the round from → to, running the queue when
// it is full.
func (c *Certifier) enqueue(sc *scratch, from, to int, v, x []float32, xn float64, lab, idx int, lower, L float64, st *lrrn.States, j int) {
	q := c.queueFor(sc, from, to)
	q.add(c, v, x, xn, lab, idx, lower, L, st, j)
	if q.n == lrrn.TileSize {
		c.runQueue(sc, q)
	}
}

// runQueue runs the round of q on its inputs (a full tile; a partial one
// is padded with zero inputs and zero states), certifies them and queues
// those that still need more passes for their next round.
func (c *Certifier) runQueue(sc *scratch, q *passQueue) {
	n, T := q.n, lrrn.TileSize
	if n == 0 {
		c.release(sc, q)
		return
	}
	clear(q.v[n*c.d1:])
	for k := 1; k <= c.numL; k++ {
		clear(q.st.Z[k][n*c.m.Sizes[k]:])
	}
	from, to := q.from, q.to
	if err := c.solver.ContinueFreeWithInput(sc.ws, q.v, T, to-from, q.st); err != nil {
		panic(err)
	}
	c.evaluate(sc, q.st, q.v, q.x, q.xn, q.lab[:n], n, q.cert, to, q.aux)
	// The queue can refill only after its inputs have moved on (they go
	// to rounds that start at `to`, never to this one); it returns to the
	// pool after that.
	q.n = 0
	for j := 0; j < n; j++ {
		ct := &q.cert[j]
		sc.out[q.idx[j]] = *ct
		// Continue while the certificate is limited by the inference
		// error, the last round still gained more than AdaptiveTol of
		// the margin and the loss fell as BCD converges (both stop at
		// the float32 floor of the iterate's residual).
		gained := ct.MarginLower-q.prev[j] > c.tol*math.Abs(ct.Margin)
		L, more := c.needsPasses(ct, &q.aux[j])
		if to < c.maxPasses && gained && more && !c.stalled(q.prevL[j], L, to-from) {
			next := c.nextPasses(from, to, q.prevL[j], L, ct.Margin)
			c.enqueue(sc, to, next, q.v[j*c.d1:(j+1)*c.d1], q.x[j*c.d0:(j+1)*c.d0], q.xn[j], q.lab[j], q.idx[j], ct.MarginLower, L, q.st, j)
			continue
		}
		if sc.final != nil {
			sc.final(q.idx[j], q.st, j)
		}
	}
	c.release(sc, q)
}

// flush finishes every input still waiting for passes in sc, round by
// round as the workers of a batch do (nextRuns; batchJob.flushRounds).
func (c *Certifier) flush(sc *scratch) {
	scs := [1]*scratch{sc}
	for {
		sc.runs = c.nextRuns(scs[:], sc.runs[:0])
		if len(sc.runs) == 0 {
			return
		}
		for _, q := range sc.runs {
			c.runQueue(sc, q)
		}
	}
}

// nextRuns appends to runs the next tiles to run of the inputs still
// waiting for passes in the scratches of a batch's workers: the rounds
// that start earliest (from) across all scratches — no input can join
// them any more —, with the queues of the same round (from → to) merged
// so that each round leaves at most one partial tile for the whole batch
// instead of one per worker. When those are fewer tiles than workers,
// the next rounds join them (partial tiles then, rather than idle
// workers). None when no input waits. Which inputs share a tile does not
// change a certificate (see tile).
func (c *Certifier) nextRuns(scs []*scratch, runs []*passQueue) []*passQueue {
	for len(runs) < len(scs) {
		from := math.MaxInt
		for _, sc := range scs {
			for _, q := range sc.queue {
				from = min(from, q.from)
			}
		}
		if from == math.MaxInt {
			break
		}
		for _, sc := range scs {
			for i := 0; i < len(sc.queue); {
				q := sc.queue[i]
				if q.from != from {
					i++
					continue
				}
				sc.detach(q)
				runs = c.mergeRound(sc, runs, q)
			}
		}
	}
	return runs
}

// mergeRound adds the inputs of q (detached from sc) to the list of tiles
// to run: into the partial tile of the same round, when there is one, as
// far as it has room. A queue that ends up empty returns to the pool.
func (c *Certifier) mergeRound(sc *scratch, runs []*passQueue, q *passQueue) []*passQueue {
	T := lrrn.TileSize
	for _, r := range runs {
		if r.from != q.from || r.to != q.to || r.n == T {
			continue
		}
		for q.n > 0 && r.n < T {
			q.n--
			i := q.n
			r.add(c, q.v[i*c.d1:(i+1)*c.d1], q.x[i*c.d0:(i+1)*c.d0], q.xn[i], q.lab[i], q.idx[i], q.prev[i], q.prevL[i], q.st, i)
		}
		if q.n == 0 {
			c.release(sc, q)
			return runs
		}
	}
	return append(runs, q)
}

// add appends an input to q (which has room): its input part v, pixels x,
// ‖x‖ bound, label, the index of its certificate, its MarginLower and L (see
// needsPasses), and its states, input j of st.
func (q *passQueue) add(c *Certifier, v, x []float32, xn float64, lab, idx int, lower, L float64, st *lrrn.States, j int) {
	k := q.n
	copy(q.v[k*c.d1:(k+1)*c.d1], v)
	copy(q.x[k*c.d0:(k+1)*c.d0], x)
	q.xn[k], q.lab[k], q.idx[k], q.prev[k], q.prevL[k] = xn, lab, idx, lower, L
	for l := 1; l <= c.numL; l++ {
		copy(q.st.Layer(l, k), st.Layer(l, j))
	}
	q.n++
}

// drop forgets the waiting inputs (a cancelled batch).
func (c *Certifier) drop(sc *scratch) {
	for len(sc.queue) > 0 {
		q := sc.queue[0]
		q.n = 0
		c.release(sc, q)
	}
}
