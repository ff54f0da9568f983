// Package verify certifies the robustness of an LRRN's predictions: for an
// input x it proves that the exact model — the minimiser ž(x) of the
// energy, not the finite-pass iterate z̃ that inference computes — assigns
// the same class to every x' with ‖x' − x‖₂ < δ, with δ from the margin and
// a certified Lipschitz bound (docs/math.md, "Lipschitz bound and certified
// radius" and "What makes a certificate sound").
//
// Build a Certifier once per model (New); it computes everything that
// depends only on the weights, then certifies inputs one at a time
// (Certify) or in batches spread over goroutines (CertifyBatch), without
// allocating per input. Package verify/service serves it over HTTP, and
// cmd/lrrn-verify is its command-line front end.
//
// # What is certified, and how
//
// Every bound below is computed so that rounding can only make it larger
// (or, for lower bounds, smaller): the derivations carry explicit
// floating-point error terms in the standard model fl(a∘b) = (a∘b)(1+δ),
// |δ| ≤ u (u = 2⁻⁵³ in float64, 2⁻²⁴ in float32), with γ_n = nu/(1−nu)
// the bound of an n-term dot product or sum in any order, fused
// multiply-adds or not (Higham, Accuracy and Stability of Numerical
// Algorithms, §3.1), plus absolute terms for underflow (2⁻¹²⁶ per float32
// product, the smallest normal number, so that flush-to-zero is covered).
// The float32 products of package asm are assumed to be such dot products:
// each output is the sum of its n products in some order.
//
// Spectral norms (SingularValueBounds). W (float32) is scaled by a power
// of two so that its largest entry is in [½,1) — exactly. Its Gram matrix G
// (WWᵀ or WᵀW, the smaller, order n, inner dimension m) is formed in
// float64: products of float32 values are exact there, so |Ĝ − G| ≤
// γ_m|W||W|ᵀ and ‖Ĝ − G‖₂ ≤ γ_m‖W‖_F² (any summation order). The Lanczos
// process (full reorthogonalisation) estimates λ_max(G) and λ_min(G);
// then a float64 Cholesky factorisation of T·I − Ĝ proves λ_max(G) ≤ T'
// (eigLowerChol): if Cholesky of a symmetric B̂ runs to completion, the
// computed factor satisfies R̂ᵀR̂ = B̂ + ΔB with |ΔB| ≤ γ_{n+1}|R̂ᵀ||R̂|, so
// ‖ΔB‖₂ ≤ γ_{n+1}‖R̂‖_F² ≤ γ_{n+1}tr(B̂)/(1−γ_{n+1}), and since R̂ᵀR̂ is
// positive semidefinite, λ_min(B̂) ≥ −‖ΔB‖₂ (Demmel 1989; Rump, BIT 2006;
// Higham Thm. 10.3). The rounding of the shift on the diagonal, Ĝ's error
// and an underflow term are added, all with directed rounding. T starts
// just above the estimate (1 + 4n²u) and grows ×16 until the proof
// succeeds (bisection then tightens it when the first try failed). σ_min
// (of Wᵀ on R^rows, zero when W has more rows than columns) gets a lower
// bound the same way from one factorisation of Ĝ − s·I at s a relative
// 10⁻⁸ (up to 256 rows) or muTol (beyond) below the λ_min estimate; when
// nothing positive is provable the bound is 0, which is sound (it can
// only make ℓ larger).
//
// The estimates play no part in soundness: a bound is whatever a
// factorisation that ran to completion proves, at whatever shift; a poor
// estimate only costs a failed factorisation and a retry further below
// (×8 the distance, then a bisection from 0). The factorisation is
// blocked (tiles of 64, products by a 4×2 micro-kernel, AVX2+FMA on the
// avx2 and avx512 tiers) and spread over the cores
// (internal/linalg.Cholesky). Every entry is still computed as
// (b̂_ij − Σ_p r̂_ip r̂_jp)/r̂_jj, only with the sum in another order (a
// chain of block partial sums, each summed in SIMD lanes), and Higham's
// Lemma 8.4, on which Thm. 10.3 rests, holds for every order of
// evaluation: the bound is unchanged. Zero blocks of a block-tridiagonal
// matrix are skipped: a product with an exact zero is an exact zero and
// adding it is exact, so nothing changes but the time.
//
// Tests check the bounds against matrices whose singular values are known exactly
// (scaled Hadamard blocks from 10⁻⁴⁰ to 10³⁸, repeated and nearly repeated
// singular values, rank-deficient, tall and wide) and against the float64
// Jacobi reference of internal/linalg.
//
// Lipschitz constant. ℓ(β,W) = max{(1+β)s/(1+βs²): σ_min ≤ s ≤ σ_max} for
// β > 0 and σ_max for β = 0 is bounded from the certified interval
// [σ_min lower, σ_max upper] ⊇ [σ_min, σ_max]: f increases up to 1/√β and
// decreases after, so the bound is f(hi), f(lo) or the peak (1+β)/(2√β),
// the branch tests done with directed rounding. ρ = Π_k ℓ(β_k, W_k) bounds
// the Lipschitz constant of x ↦ ž_L, and Π_{k<L−1} ℓ_k that of x ↦ ž_{L−1}
// (the pairwise radius). Bounds.RhoSeed is the seed-style estimate — f at
// the estimated σ_max only — which is NOT sound: the estimate (a Ritz
// value) approaches σ_max from below, and f(σ_max) misses the peak when
// σ_min < 1/√β < σ_max (for β = 1, ℓ = 1 whatever W is, while f(σ_max) < 1
// for σ_max ≠ 1); that is why it comes out smaller than ρ.
//
// Inexact inference. The iterate z̃ (float32, finitely many BCD passes) is
// not ž. The free problem has variable blocks z_1 … z_K (K = L−1 in the
// reduced form — linear output, β_{L−1} = 0 — else K = L) and a constant
// Hessian H. For block weights D_k = γ^{k−1}τ_k let S = D^{−1/2}HD^{−1/2};
// its blocks are S_kk = Hs_k/τ_k and S_{k+1,k} = −√γ(1+β_k)W_k/√(τ_kτ_{k+1})
// with Hs_k = I + β_{k−1}W_{k−1}W_{k−1}ᵀ + [k<K]γ(W_kᵀW_k + β_kI) — the γ
// powers cancel, so λ_min(S) is not needlessly small. μ ≤ λ_min(S) is
// certified once per model by Cholesky of Ŝ − μI with the margin above
// (the entries' rounding error is bounded by γ_{m+8}(1 + γβ_k +
// β_{k−1}‖W_{k−1}‖_F² + γ‖W_k‖_F²)/τ_k on the diagonal blocks and
// γ_8·coefficient·‖W_k‖_F off them, Hs_k being formed in float64 in any
// order — the solver's own, lrrn.NewSolverHessians). μ is not found by
// bisection (40 factorisations per scaling: 150 s for 784-1024-1024-10):
// the Lanczos process estimates λ_min(S) for all scalings at once (one
// pass over the float32 blocks serves the four; up to 256 unknowns it
// spans the whole space and the estimate is exact to float32 rounding),
// and one factorisation at est·(1 − tol) certifies μ, tol = muTol = 10⁻³
// (10⁻⁵ up to 256 unknowns), with the retries above if it fails; so μ is
// within about tol of λ_min (TestMuAgainstExactSpectrum checks it against
// Jacobi spectra). Up to maxAllTaus = 1024 unknowns every scaling is
// certified; beyond, only the one whose estimate gives the smallest error
// factor (one N×N factorisation, the dominant cost of New). Up to
// maxDenseN = 8192 unknowns S is factorised whole (layers of up to
// maxDense = 4096 units; 512 MB of work at the limit); beyond, a block
// Gershgorin bound is used. For any g ∈ ∂(E + ι_C)(z̃), monotonicity of
// the normal cone gives ⟨g, z̃ − ž⟩ ≥ (z̃−ž)ᵀH(z̃−ž) ≥ μ‖z̃ − ž‖²_D, hence
//
//	‖z̃_K − ž_K‖ ≤ ‖g‖_{D⁻¹} / (μ √D_K),   ‖g‖²_{D⁻¹} = Σ_k (γ^{k−1}/τ_k)‖g̃_k‖²,
//
// where g̃_k = Hs_k z_k − cs_k is the block gradient in the solver's
// scaling and g is the min-norm subgradient: coordinate by coordinate, at
// a bound the part of the gradient pointing out of the box is dropped. A
// few scalings τ (τ_k = t^{k−1}) are certified per model and each input
// uses the one giving the smallest bound — each is valid.
//
// The residual is evaluated in float64 from float32 products with proven
// error: fl32(M z) errs by at most γ_n‖M‖_F‖z‖ in norm, where n counts the
// nonzero entries of z (a product with a zero factor is an exact zero, and
// adding an exact zero is exact, so along any summation tree a term meets
// at most n−1 inexact additions; relu states are sparse). Hs_k is rounded
// to float32 once, with its representation error bounded. The input part
// v = W_0 x, the only d_0-wide product, is computed as float32 products of
// 112-column chunks whose partial sums are added pairwise in float32, so
// each term meets at most chunk + depth roundings instead of d_0. These
// bounds (linear in ‖x‖ and the ‖z_k‖) are added to ‖g̃_k‖ before the
// weighting; TestResidualRoundingBound checks them against an independent
// full-width float64 gradient. They do not cover overflow: when a float32
// product overflowed (a gradient entry is ±Inf or NaN, even at a bound
// where the min-norm subgradient would cancel it) the certificate
// abstains. Variable layers wider than maxDense = 4096 units are refused
// by New (their Hessian block alone takes d² float64 entries).
//
// Margins. In the reduced form ž_L = W_{L−1}ž_{L−1} + b_{L−1} exactly, so
// each difference ž_L[y] − ž_L[j] is within ‖w_y − w_j‖·‖z̃_{L−1} − ž_{L−1}‖
// of the iterate's (w_i the rows of W_{L−1}); otherwise within √2‖z̃_L − ž_L‖.
// The iterate's output differences are computed in float64 (plus the
// float32 product's bound). MarginLower is the smallest difference minus
// these bounds; the input is certified when it is positive, and then
//
//	δ = MarginLower/(√2ρ),   δ_pair = min_{j≠y} m_j'/(‖w_y − w_j‖ Π_{k<L−1}ℓ_k)
//
// with m_j' the per-pair lower bounds. With a label the margin is to the
// label (negative when misclassified: not certified); without, to the
// predicted class. Otherwise the certificate abstains (radius 0).
//
// Passes as needed (the default, Options.Passes = 0; or Adaptive from a
// given Passes). Every input gets StartPasses = 5 passes and a
// certificate. An input continues when the part of its margin lost to
// the inference error that more passes can remove — loss·(1 − E_r/E), E
// the StateError and E_r its rounding part, a floor that passes do not
// lower — exceeds AdaptiveTol (10⁻³) of its margin, and after the first
// round only while the last round raised MarginLower by more than that
// (it stops gaining at the float32 floor of the iterate's residual).
// Each round doubles the input's passes (up to MaxPasses), continuing from
// its iterate (lrrn.Solver.ContinueFreeWithInput). The inputs that
// continue wait per round in a queue of one tile and run when it is full
// (or at the end of the batch): the work stays in full tiles. On the
// shipped model and the 10,000 MNIST test images this gives the
// certified set of 100 passes and its median radius within 0.01%, at 5.2
// passes per input on average (TestPassesAsNeededConverged checks the
// 500-image fixture).
//
// # Determinism
//
// A certificate is a function of the model, the input and the options on
// a given kernel tier: the same bits whatever the batch size, the input's
// position in its tile, the other inputs, the worker count, and whether it
// comes from Certify, CertifyBatch, the service or lrrn-verify. The
// certifier runs every tile full — a partial tile is padded with zero
// inputs — because the kernels' code path depends on the tile width (the
// single-input sweep, the vector count of a panel, the k blocking), while
// within a full tile every column is treated alike (column-vectorised
// products and unit updates make the same operations on every lane; the
// d_0-wide product is the certifier's own, per input, and the solver
// takes it from there: lrrn.Solver.FreeWithInput). Continuing inputs run
// in full tiles too, and an input's rounds depend on its own certificates
// only. TestCertificatesIndependentOfBatch checks it on every tier this
// CPU runs. What may differ between tiers (generic, avx2, avx512, neon,
// and purego builds): the float32 summation orders of the kernels, hence
// the iterates, margins and radii in their last bits, and the float64
// sums of New (the Gram products and factorisations use the AVX2
// micro-kernel on the avx2 and avx512 tiers), hence ρ, μ and every bound
// in their last bits. Each tier's certificates are sound; they are not
// bitwise equal across tiers. New is deterministic for a model and tier,
// whatever the number of cores (a fixed grid of tiles). A single Certify
// costs a full tile of inference (64 inputs' worth): the price of the
// bits not depending on the batch.
//
// # Tests
//
// Soundness is tested against an independent float64 reference (the
// energy's gradient written from its definition, BCD then active-set
// Newton to a residual below 10⁻¹³): certificates at 1, 2, 5 and 20
// passes, adaptive ones and the passes-as-needed default never claim more
// than the exact model gives;
// projected-gradient and minimal-distance ℓ2 attacks on the exact model
// (gradients through the implicit function of the minimiser) on 200 real
// MNIST test images find no prediction change within 0.999·δ or 0.999·δ_pair;
// local Jacobian norms and difference quotients stay below ρ.
package verify
