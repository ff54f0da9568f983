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
// Every bound is computed so that rounding can only make it more
// conservative: spectral norms of the weights and the strong-convexity
// constant μ are proved by Cholesky factorisations with explicit
// floating-point error terms (Lanczos estimates only choose the shift a
// factorisation tries), the Lipschitz bound ρ = Π_k ℓ(β_k, W_k) uses
// certified intervals for σ_min and σ_max, and the distance from the
// finite-pass iterate to the exact minimiser is bounded by the residual
// and μ. Bounds.RhoEstimate is the paper's estimate (its formula at the
// Lanczos estimate of σ_max only), printed for comparison and NOT sound.
// docs/math.md ("How package verify computes its bounds") gives the
// derivations and the tests that try to break them; docs/report-format.md
// describes the JSON forms (ModelInfo, Record); docs/verify-scaling.md
// the cost of New against layer width.
//
// Passes run as needed by default (Options.Passes = 0): every input gets
// StartPasses passes, and only the inputs whose certificate is still
// limited by the inference error get more (doubled in the first extra
// round, then as many as the rate of the last round predicts; gathered
// into full tiles), until it costs at most AdaptiveTol of the margin. A positive Passes without Adaptive runs exactly that many.
//
// # Determinism
//
// On a given kernel tier a certificate is a function of the model, the
// input and the options only: the same bits whatever the batch size, the
// input's position in it, the other inputs, the worker count, and whether
// it comes from Certify, CertifyBatch, the service or lrrn-verify (every
// tile runs full, zero-padded; TestCertificatesIndependentOfBatch). New is
// deterministic for a model and tier whatever the number of cores. What
// may differ between tiers (generic, avx2, avx512, neon, purego): the
// float32 summation orders of inference, hence iterates, margins and radii
// in their last bits, and the float64 sums of New (Gram products and
// factorisations sum in the four fused lanes of asm.Dot4x2 on the avx2,
// avx512 and neon tiers, one chain per entry on generic), hence ρ, μ and
// every bound in their last bits. Each tier's
// certificates are sound; they are not bitwise equal across tiers. A
// single Certify costs a full tile of inference (64 inputs' worth).
package verify
