//go:build !purego

#include "textflag.h"

// NEON (Advanced SIMD, 128-bit) kernels for arm64. The Go declarations and
// the wrappers that split the work are in neon_arm64.go; the semantics are
// those of the references in generic.go.
//
// Every loop is counted: the main loops take 32, 16, 8 or 4 elements at a
// time and a scalar (or zero-padded lane) tail takes the rest, so no kernel
// reads or writes an element outside the slices it was given.
//
// The Go assembler has no vector forms of FADD, FSUB, FADDP and FCMGT (4S,
// and 2D for Dot4x2), no scalar pairwise FADDP and no by-element FMLA.
// Those instructions are the
// WORD macros below, one per instruction, with register numbers as
// arguments in Arm operand order (d, n, m); TestWordEncodings
// (encoding_arm64_test.go) checks each macro against an independent encoder
// for every register number, and that no WORD is written anywhere else.
//
// Clamp semantics (bit-exact with clampGeneric): v < lo is FCMGT(lo, v) and
// v > hi is FCMGT(v, hi); both are false for a NaN and for ±0 against ±0, so
// BIT (insert where the mask is set) leaves NaN, −0 and +0 alone unless a
// bound strictly exceeds them. FMAX/FMIN (NaN-propagating, +0 > −0) and
// FMAXNM/FMINNM (number wins) would not give clampGeneric's results.
//
// Registers: R0–R17 and R19–R25 as scratch (R18 is the platform register,
// R26–R30 are left to the runtime and assembler); all of V0–V31. The
// macros name the registers they use; most work on fixed ones (accumulators
// V16–V31, operands V0–V11).

// FADD Vd.4S, Vn.4S, Vm.4S
#define FADD4S(d, n, m) WORD $(0x4e20d400 | (m)<<16 | (n)<<5 | (d))

// FSUB Vd.4S, Vn.4S, Vm.4S
#define FSUB4S(d, n, m) WORD $(0x4ea0d400 | (m)<<16 | (n)<<5 | (d))

// FADDP Vd.4S, Vn.4S, Vm.4S
#define FADDP4S(d, n, m) WORD $(0x6e20d400 | (m)<<16 | (n)<<5 | (d))

// FCMGT Vd.4S, Vn.4S, Vm.4S
#define FCMGT4S(d, n, m) WORD $(0x6ea0e400 | (m)<<16 | (n)<<5 | (d))

// FADDP Sd, Vn.2S
#define FADDPS(d, n) WORD $(0x7e30d800 | (n)<<5 | (d))

// FADD Vd.2D, Vn.2D, Vm.2D
#define FADD2D(d, n, m) WORD $(0x4e60d400 | (m)<<16 | (n)<<5 | (d))

// FADDP Vd.2D, Vn.2D, Vm.2D
#define FADDP2D(d, n, m) WORD $(0x6e60d400 | (m)<<16 | (n)<<5 | (d))

// FMLA Vd.4S, Vn.4S, Vm.S[i]
#define FMLAE(d, n, m, i) WORD $(0x4f801000 | ((i)&1)<<21 | (m)<<16 | ((i)>>1)<<11 | (n)<<5 | (d))

// ---- Building blocks.

#define ZERO4(a, b, c, d) VEOR a.B16, a.B16, a.B16; VEOR b.B16, b.B16, b.B16; VEOR c.B16, c.B16, c.B16; VEOR d.B16, d.B16, d.B16
#define ZERO16 ZERO4(V16, V17, V18, V19); ZERO4(V20, V21, V22, V23); ZERO4(V24, V25, V26, V27); ZERO4(V28, V29, V30, V31)

// Scalar: Fc_i += Fx·Fa_i for i = 0…3.
#define FMADD4(x, a0, a1, a2, a3, c0, c1, c2, c3) FMADDS x, c0, a0, c0; FMADDS x, c1, a1, c1; FMADDS x, c2, a2, c2; FMADDS x, c3, a3, c3

// The accumulators of a block of 16 (4) columns: V16–V19 (V16) zero, or
// loaded from p when acc is set, and V20–V23 (V20), the second set, zero.
#define ACC16(acc, p, lbl) ZERO4(V16, V17, V18, V19); CBZ acc, lbl; VLD1 (p), [V16.S4, V17.S4, V18.S4, V19.S4]; \
lbl: \
	ZERO4(V20, V21, V22, V23)
#define ACC4(acc, p, lbl) VEOR V16.B16, V16.B16, V16.B16; CBZ acc, lbl; VLD1 (p), [V16.S4]; \
lbl: \
	VEOR	V20.B16, V20.B16, V20.B16

// Count r down by n and loop to lbl while at least n are left; DOWN1: while
// any is left.
#define DOWN(n, r, lbl) SUB $n, r; CMP $n, r; BGE lbl
#define DOWN1(r, lbl) SUB $1, r; CBNZ r, lbl

// p1, p2, p3 = p0 + s, + 2s, + 3s: the rows of a four-row block.
#define ROWPTRS(s, p0, p1, p2, p3) ADD s, p0, p1; ADD s, p1, p2; ADD s, p2, p3

// c_i += x·a_i for i = 0…3.
#define FMLA4(x, a0, a1, a2, a3, c0, c1, c2, c3) \
	VFMLA	x.S4, a0.S4, c0.S4; \
	VFMLA	x.S4, a1.S4, c1.S4; \
	VFMLA	x.S4, a2.S4, c2.S4; \
	VFMLA	x.S4, a3.S4, c3.S4

// The 4×16 outer product of a four-row block: row r of V16–V31 (V16+4r …
// V19+4r) += Vr · V4–V7.
#define OUTER16 \
	FMLA4(V0, V4, V5, V6, V7, V16, V17, V18, V19); \
	FMLA4(V1, V4, V5, V6, V7, V20, V21, V22, V23); \
	FMLA4(V2, V4, V5, V6, V7, V24, V25, V26, V27); \
	FMLA4(V3, V4, V5, V6, V7, V28, V29, V30, V31)

// Vc…Vc+3 += Vb…Vb+3 · lane s of Vr (by register number): one k-step of a
// row of four accumulators.
#define FMLAE4(c, b, r, s) FMLAE(c, b, r, s); FMLAE((c)+1, (b)+1, r, s); FMLAE((c)+2, (b)+2, r, s); FMLAE((c)+3, (b)+3, r, s)

// One k-step s of the 4×16 block: row r of V16–V31 += V(b…b+3) · V(r).S[s].
#define FMLAE16(b, s) FMLAE4(16, b, 0, s); FMLAE4(20, b, 1, s); FMLAE4(24, b, 2, s); FMLAE4(28, b, 3, s)

// One k-step s of the 4×4 block: V16, V20, V24, V28 += Vb · V0…V3.S[s].
#define FMLAE4R(b, s) FMLAE(16, b, 0, s); FMLAE(20, b, 1, s); FMLAE(24, b, 2, s); FMLAE(28, b, 3, s)

// Va += Vb, Va+1 += Vb+1, …: the even and odd accumulators of four vectors.
#define FOLD4(a, b) FADD4S(a, a, b); FADD4S((a)+1, (a)+1, (b)+1); FADD4S((a)+2, (a)+2, (b)+2); FADD4S((a)+3, (a)+3, (b)+3)

// Va = [Σa, Σb, Σc, Σd] (lane sums of the four vectors, pairwise).
#define HADD4(a, b, c, d) FADDP4S(a, a, b); FADDP4S(c, c, d); FADDP4S(a, a, c)

// Sa = the sum of the four lanes of Va.
#define HSUM(a) FADDP4S(a, a, a); FADDPS(a, a)

// V8–V11 (one vector: V8) = clamp to [V30, V31], with V12–V15 (V12) as masks.
#define CLAMP16 \
	FCMGT4S(12, 30, 8); FCMGT4S(13, 30, 9); FCMGT4S(14, 30, 10); FCMGT4S(15, 30, 11); \
	VBIT	V12.B16, V30.B16, V8.B16; VBIT	V13.B16, V30.B16, V9.B16; \
	VBIT	V14.B16, V30.B16, V10.B16; VBIT	V15.B16, V30.B16, V11.B16; \
	FCMGT4S(12, 8, 31); FCMGT4S(13, 9, 31); FCMGT4S(14, 10, 31); FCMGT4S(15, 11, 31); \
	VBIT	V12.B16, V31.B16, V8.B16; VBIT	V13.B16, V31.B16, V9.B16; \
	VBIT	V14.B16, V31.B16, V10.B16; VBIT	V15.B16, V31.B16, V11.B16
#define CLAMP4 FCMGT4S(12, 30, 8); VBIT V12.B16, V30.B16, V8.B16; FCMGT4S(12, 8, 31); VBIT V12.B16, V31.B16, V8.B16

// Transposed products (matTVec, unitUpdate): cnt rows of 16 (4, 1) columns
// at A (row stride S, A advances) times the x values at X (4 bytes a row, X
// advances): V16–V19 += the even rows, V20–V23 the odd ones (V16, V20; F16).
#define TCOLS16(X, A, S, cnt, loop2, one, done) \
	CMP	$2, cnt; \
	BLT	one; \
loop2: \
	VLD1R.P	4(X), [V0.S4]; \
	VLD1R.P	4(X), [V1.S4]; \
	VLD1.P	(A)(S), [V4.S4, V5.S4, V6.S4, V7.S4]; \
	VLD1.P	(A)(S), [V8.S4, V9.S4, V10.S4, V11.S4]; \
	FMLA4(V0, V4, V5, V6, V7, V16, V17, V18, V19); \
	FMLA4(V1, V8, V9, V10, V11, V20, V21, V22, V23); \
	DOWN(2, cnt, loop2); \
one: \
	CBZ	cnt, done; \
	VLD1R	(X), [V0.S4]; \
	VLD1	(A), [V4.S4, V5.S4, V6.S4, V7.S4]; \
	FMLA4(V0, V4, V5, V6, V7, V16, V17, V18, V19); \
done:

#define TCOLS4(X, A, S, cnt, loop2, one, done) \
	CMP	$2, cnt; \
	BLT	one; \
loop2: \
	VLD1R.P	4(X), [V0.S4]; \
	VLD1R.P	4(X), [V1.S4]; \
	VLD1.P	(A)(S), [V4.S4]; \
	VLD1.P	(A)(S), [V8.S4]; \
	VFMLA	V0.S4, V4.S4, V16.S4; \
	VFMLA	V1.S4, V8.S4, V20.S4; \
	DOWN(2, cnt, loop2); \
one: \
	CBZ	cnt, done; \
	VLD1R	(X), [V0.S4]; \
	VLD1	(A), [V4.S4]; \
	VFMLA	V0.S4, V4.S4, V16.S4; \
done:

// (cnt ≥ 1)
#define TCOL1(X, A, S, cnt, loop) \
loop: \
	FMOVS.P	4(X), F0; \
	FMOVS	(A), F4; \
	ADD	S, A; \
	FMADDS	F0, F16, F4, F16; \
	DOWN1(cnt, loop)

// GemmNT dot products over k = cnt: A rows at R10 (R10–R13) into V0 (V0–V3),
// B rows at R19 (R19–R22) into V4 (V4–V7), FMAS accumulating them. The
// k mod 4 last values are loaded lane by lane into zeroed registers (ZT), so
// the tail is one more step of the same FMAs.
#define NTDOT(cnt, loop4, tail, fma, done, LDA, LDB, LANEA, LANEB, ZT, FMAS) \
	CMP	$4, cnt; \
	BLT	tail; \
loop4: \
	LDA; \
	LDB; \
	FMAS; \
	DOWN(4, cnt, loop4); \
tail: \
	CBZ	cnt, done; \
	ZT; \
	LANEA(0); \
	LANEB(0); \
	CMP	$2, cnt; \
	BLT	fma; \
	LANEA(1); \
	LANEB(1); \
	CMP	$3, cnt; \
	BLT	fma; \
	LANEA(2); \
	LANEB(2); \
fma: \
	FMAS; \
done:

#define LDA4 VLD1.P 16(R10), [V0.S4]; VLD1.P 16(R11), [V1.S4]; VLD1.P 16(R12), [V2.S4]; VLD1.P 16(R13), [V3.S4]
#define LDA1 VLD1.P 16(R10), [V0.S4]
#define LDB4 VLD1.P 16(R19), [V4.S4]; VLD1.P 16(R20), [V5.S4]; VLD1.P 16(R21), [V6.S4]; VLD1.P 16(R22), [V7.S4]
#define LDB1 VLD1.P 16(R19), [V4.S4]
#define LANEA4(i) VLD1.P 4(R10), V0.S[i]; VLD1.P 4(R11), V1.S[i]; VLD1.P 4(R12), V2.S[i]; VLD1.P 4(R13), V3.S[i]
#define LANEA1(i) VLD1.P 4(R10), V0.S[i]
#define LANEB4(i) VLD1.P 4(R19), V4.S[i]; VLD1.P 4(R20), V5.S[i]; VLD1.P 4(R21), V6.S[i]; VLD1.P 4(R22), V7.S[i]
#define LANEB1(i) VLD1.P 4(R19), V4.S[i]
#define ZT44 ZERO4(V0, V1, V2, V3); ZERO4(V4, V5, V6, V7)
#define ZT41 ZERO4(V0, V1, V2, V3); VEOR V4.B16, V4.B16, V4.B16
#define ZT14 VEOR V0.B16, V0.B16, V0.B16; ZERO4(V4, V5, V6, V7)
#define ZT11 VEOR V0.B16, V0.B16, V0.B16; VEOR V4.B16, V4.B16, V4.B16
#define NTFMA41 FMLA4(V4, V0, V1, V2, V3, V16, V20, V24, V28)
#define NTFMA14 FMLA4(V0, V4, V5, V6, V7, V16, V17, V18, V19)
#define NTFMA11 VFMLA V4.S4, V0.S4, V16.S4

// The four rows of a C tile: R9 (row 0), R15, R16, R17 (stride R4).
#define CROWS ROWPTRS(R4, R9, R15, R16, R17)

// The four rows of an A block for the k loop: R10–R13 from R1 (stride R7).
#define AROWS MOVD R1, R10; ROWPTRS(R7, R10, R11, R12, R13)

// ---- Gemm: C (+)= A·B. B rows at R19 (stride R6, advancing), k left in
// R20, A rows at R10 (R10–R13 for four rows). Four k-steps per iteration
// load four A values per row and multiply whole B rows by one lane of them
// (STEP: FMLA by element, k-step s from B in V(b)…), then single k-steps
// (ONE) take the rest.
#define KLOOP(loop4, tail, loop1, done, STEP, ONE) \
	MOVD	R14, R19; \
	MOVD	R3, R20; \
	CMP	$4, R20; \
	BLT	tail; \
loop4: \
	STEP; \
	DOWN(4, R20, loop4); \
tail: \
	CBZ	R20, done; \
loop1: \
	ONE; \
	DOWN1(R20, loop1); \
done:

// Four k-steps: A values by LDA, B rows alternately into V4… and V8… by
// LB4 and LB8, F(b, s) the FMLAs of k-step s.
#define KSTEP4(LDA, LB4, LB8, F) LDA; LB4; F(4, 0); LB8; F(8, 1); LB4; F(4, 2); LB8; F(8, 3)
#define LB16_4 VLD1.P (R19)(R6), [V4.S4, V5.S4, V6.S4, V7.S4]
#define LB16_8 VLD1.P (R19)(R6), [V8.S4, V9.S4, V10.S4, V11.S4]
#define LB4_4 VLD1.P (R19)(R6), [V4.S4]
#define LB4_8 VLD1.P (R19)(R6), [V8.S4]

// One row: even k-steps into V16…, odd ones into V20….
#define F1R16(b, s) FMLAE4(16+((s)&1)*4, b, 0, s)
#define F1R4(b, s) FMLAE(16+((s)&1)*4, b, 0, s)

// A values broadcast for single k-steps.
#define LDR4 VLD1R.P 4(R10), [V0.S4]; VLD1R.P 4(R11), [V1.S4]; VLD1R.P 4(R12), [V2.S4]; VLD1R.P 4(R13), [V3.S4]
#define LDR1 VLD1R.P 4(R10), [V0.S4]

// The C tile of four rows (R9, R15, R16, R17) in V16–V31, 16 columns, or
// V16, V20, V24, V28, 4 columns.
#define LDC16 VLD1 (R9), [V16.S4, V17.S4, V18.S4, V19.S4]; VLD1 (R15), [V20.S4, V21.S4, V22.S4, V23.S4]; VLD1 (R16), [V24.S4, V25.S4, V26.S4, V27.S4]; VLD1 (R17), [V28.S4, V29.S4, V30.S4, V31.S4]
#define STC16 VST1 [V16.S4, V17.S4, V18.S4, V19.S4], (R9); VST1 [V20.S4, V21.S4, V22.S4, V23.S4], (R15); VST1 [V24.S4, V25.S4, V26.S4, V27.S4], (R16); VST1 [V28.S4, V29.S4, V30.S4, V31.S4], (R17)
#define LDC4 VLD1 (R9), [V16.S4]; VLD1 (R15), [V20.S4]; VLD1 (R16), [V24.S4]; VLD1 (R17), [V28.S4]
#define STC4 VST1 [V16.S4], (R9); VST1 [V20.S4], (R15); VST1 [V24.S4], (R16); VST1 [V28.S4], (R17)
#define ZEROC4 ZERO4(V16, V20, V24, V28)

// The entry of the gemm and gemmNT kernels: R7, R6, R4 = the row strides
// of A, B and C in bytes, R9 = the C tile, R14 = the B tile (its first row
// for gemmNT), R8 = columns of C left.
#define GEMM_ARGS \
	MOVD	c+0(FP), R0; \
	MOVD	a+8(FP), R1; \
	MOVD	b+16(FP), R2; \
	MOVD	k+24(FP), R3; \
	MOVD	n+32(FP), R8; \
	MOVD	lda+40(FP), R7; \
	MOVD	ldb+48(FP), R6; \
	MOVD	ldc+56(FP), R4; \
	MOVBU	acc+64(FP), R5; \
	LSL	$2, R7; \
	LSL	$2, R6; \
	LSL	$2, R4; \
	MOVD	R0, R9; \
	MOVD	R2, R14

// Next tile of w columns (bytes): advance C and B, count down, loop.
#define NEXT_TILE(bytes, w, lbl) ADD $bytes, R9; ADD $bytes, R14; SUB $w, R8; B lbl

// The k-steps of each tile: four rows × 16 or 4 columns, one row × 16 or 4.
#define G4STEP16 KSTEP4(LDA4, LB16_4, LB16_8, FMLAE16)
#define G4ONE16 LDR4; LB16_4; OUTER16
#define G4STEP4 KSTEP4(LDA4, LB4_4, LB4_8, FMLAE4R)
#define G4ONE4 LDR4; LB4_4; FMLA4(V4, V0, V1, V2, V3, V16, V20, V24, V28)
#define G1STEP16 KSTEP4(LDA1, LB16_4, LB16_8, F1R16)
#define G1ONE16 LDR1; LB16_4; FMLA4(V0, V4, V5, V6, V7, V16, V17, V18, V19)
#define G1STEP4 KSTEP4(LDA1, LB4_4, LB4_8, F1R4)
#define G1ONE4 LDR1; LB4_4; VFMLA V0.S4, V4.S4, V16.S4

// The streaming loop over cnt elements: BIG (n elements a step) while at
// least n are left, then FOUR (four elements) while four are, then ONE (one
// element) while any is.
#define STREAM(cnt, n, big, four, fourloop, one, oneloop, done, BIG, FOUR, ONE) \
	CMP	$n, cnt; \
	BLT	four; \
big: \
	BIG; \
	DOWN(n, cnt, big); \
four: \
	CMP	$4, cnt; \
	BLT	one; \
fourloop: \
	FOUR; \
	DOWN(4, cnt, fourloop); \
one: \
	CBZ	cnt, done; \
oneloop: \
	ONE; \
	DOWN1(cnt, oneloop); \
done:

// dot: x at R0, y at R1; eight accumulators V16–V23 of four lanes, the
// scalar tail in F24.
#define DOT32 \
	VLD1.P	64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]; \
	VLD1.P	64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]; \
	VLD1.P	64(R0), [V8.S4, V9.S4, V10.S4, V11.S4]; \
	VLD1.P	64(R1), [V12.S4, V13.S4, V14.S4, V15.S4]; \
	VFMLA	V4.S4, V0.S4, V16.S4; \
	VFMLA	V5.S4, V1.S4, V17.S4; \
	VFMLA	V6.S4, V2.S4, V18.S4; \
	VFMLA	V7.S4, V3.S4, V19.S4; \
	VFMLA	V12.S4, V8.S4, V20.S4; \
	VFMLA	V13.S4, V9.S4, V21.S4; \
	VFMLA	V14.S4, V10.S4, V22.S4; \
	VFMLA	V15.S4, V11.S4, V23.S4
#define DOT4 VLD1.P 16(R0), [V0.S4]; VLD1.P 16(R1), [V4.S4]; VFMLA V4.S4, V0.S4, V16.S4
#define DOT1 FMOVS.P 4(R0), F0; FMOVS.P 4(R1), F4; FMADDS F4, F24, F0, F24

// axpy: x at R0, y loaded at R1 and stored at R3, alpha in V31.
#define AXPY16 \
	VLD1.P	64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]; \
	VLD1.P	64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]; \
	FMLA4(V31, V0, V1, V2, V3, V4, V5, V6, V7); \
	VST1.P	[V4.S4, V5.S4, V6.S4, V7.S4], 64(R3)
#define AXPY4 VLD1.P 16(R0), [V0.S4]; VLD1.P 16(R1), [V4.S4]; VFMLA V31.S4, V0.S4, V4.S4; VST1.P [V4.S4], 16(R3)
#define AXPY1 FMOVS.P 4(R0), F0; FMOVS.P 4(R1), F4; FMADDS F31, F4, F0, F4; FMOVS.P F4, 4(R3)

// clamp: x loaded at R0 and stored at R2 (one element: FMOVS loads lane 0
// and zeroes the others; only lane 0 is stored).
#define CLAMPX16 VLD1.P 64(R0), [V8.S4, V9.S4, V10.S4, V11.S4]; CLAMP16; VST1.P [V8.S4, V9.S4, V10.S4, V11.S4], 64(R2)
#define CLAMPX4 VLD1.P 16(R0), [V8.S4]; CLAMP4; VST1.P [V8.S4], 16(R2)
#define CLAMPX1 FMOVS (R0), F8; CLAMP4; FMOVS.P F8, 4(R0)

// func dotNEON(x, y *float32, n int) float32
// Eight accumulators of four lanes take 32 products per iteration.
TEXT ·dotNEON(SB), NOSPLIT, $0-28
	MOVD	x+0(FP), R0
	MOVD	y+8(FP), R1
	MOVD	n+16(FP), R2
	ZERO4(V16, V17, V18, V19)
	ZERO4(V20, V21, V22, V23)
	VEOR	V24.B16, V24.B16, V24.B16
	STREAM(R2, 32, dot_loop32, dot_4, dot_loop4, dot_1, dot_loop1, dot_reduce, DOT32, DOT4, DOT1)
	FADD4S(16, 16, 17)
	FADD4S(18, 18, 19)
	FADD4S(20, 20, 21)
	FADD4S(22, 22, 23)
	FADD4S(16, 16, 18)
	FADD4S(20, 20, 22)
	FADD4S(16, 16, 20)
	HSUM(16)
	FADDS	F24, F16
	FMOVS	F16, ret+24(FP)
	RET

// func axpyNEON(alpha float32, x, y *float32, n int)
TEXT ·axpyNEON(SB), NOSPLIT, $0-32
	FMOVS	alpha+0(FP), F31
	MOVD	x+8(FP), R0
	MOVD	y+16(FP), R1
	MOVD	n+24(FP), R2
	VDUP	V31.S[0], V31.S4
	MOVD	R1, R3 // store pointer into y
	STREAM(R2, 16, axpy_loop16, axpy_4, axpy_loop4, axpy_1, axpy_loop1, axpy_done, AXPY16, AXPY4, AXPY1)
	RET

// func clampNEON(x *float32, n int, lo, hi float32)
TEXT ·clampNEON(SB), NOSPLIT, $0-24
	MOVD	x+0(FP), R0
	MOVD	n+8(FP), R1
	FMOVS	lo+16(FP), F30
	FMOVS	hi+20(FP), F31
	VDUP	V30.S[0], V30.S4
	VDUP	V31.S[0], V31.S4
	MOVD	R0, R2 // store pointer
	STREAM(R1, 16, clamp_loop16, clamp_4, clamp_loop4, clamp_1, clamp_loop1, clamp_done, CLAMPX16, CLAMPX4, CLAMPX1)
	RET

// func matVecNEON(y, a, x *float32, m, n, lda int, acc bool)
// y (+)= A·x for the m×n matrix A of row stride lda. Four rows at a time
// share each load of x; the rows left over (m mod 4) take the one-row loop.
TEXT ·matVecNEON(SB), NOSPLIT, $0-49
	MOVD	y+0(FP), R0
	MOVD	a+8(FP), R1
	MOVD	x+16(FP), R4
	MOVD	m+24(FP), R2
	MOVD	n+32(FP), R3
	MOVD	lda+40(FP), R6
	MOVBU	acc+48(FP), R5
	LSL	$2, R6      // row stride in bytes
	LSL	$2, R6, R13 // four rows

mv_block4:
	CMP	$4, R2
	BLT	mv_rows1
	MOVD	R1, R7
	ROWPTRS(R6, R7, R8, R9, R10)
	MOVD	R4, R11
	MOVD	R3, R12
	ZERO4(V16, V17, V18, V19)
	ZERO4(V20, V21, V22, V23)
	ZERO4(V24, V25, V26, V27)
	CMP	$8, R12
	BLT	mv4_4

mv4_loop8:
	VLD1.P	32(R11), [V0.S4, V1.S4]
	VLD1.P	32(R7), [V2.S4, V3.S4]
	VLD1.P	32(R8), [V4.S4, V5.S4]
	VLD1.P	32(R9), [V6.S4, V7.S4]
	VLD1.P	32(R10), [V8.S4, V9.S4]
	FMLA4(V0, V2, V4, V6, V8, V16, V18, V20, V22)
	FMLA4(V1, V3, V5, V7, V9, V17, V19, V21, V23)
	DOWN(8, R12, mv4_loop8)

mv4_4:
	CMP	$4, R12
	BLT	mv4_1
	VLD1.P	16(R11), [V0.S4]
	VLD1.P	16(R7), [V2.S4]
	VLD1.P	16(R8), [V4.S4]
	VLD1.P	16(R9), [V6.S4]
	VLD1.P	16(R10), [V8.S4]
	FMLA4(V0, V2, V4, V6, V8, V16, V18, V20, V22)
	SUB	$4, R12

mv4_1:
	CBZ	R12, mv4_reduce

mv4_loop1:
	FMOVS.P	4(R11), F0
	FMOVS.P	4(R7), F2
	FMOVS.P	4(R8), F4
	FMOVS.P	4(R9), F6
	FMOVS.P	4(R10), F8
	FMADD4(F0, F2, F4, F6, F8, F24, F25, F26, F27)
	DOWN1(R12, mv4_loop1)

mv4_reduce:
	FADD4S(16, 16, 17)
	FADD4S(18, 18, 19)
	FADD4S(20, 20, 21)
	FADD4S(22, 22, 23)
	HADD4(16, 18, 20, 22)
	// V16 = the four rows' vector sums; add the scalar tails, one per lane.
	VMOV	V25.S[0], V24.S[1]
	VMOV	V26.S[0], V24.S[2]
	VMOV	V27.S[0], V24.S[3]
	FADD4S(16, 16, 24)
	CBZ	R5, mv4_store
	VLD1	(R0), [V0.S4]
	FADD4S(16, 0, 16)

mv4_store:
	VST1.P	[V16.S4], 16(R0)
	ADD	R13, R1
	SUB	$4, R2
	B	mv_block4

mv_rows1:
	CBZ	R2, mv_done

mv_row:
	MOVD	R1, R7
	MOVD	R4, R11
	MOVD	R3, R12
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V17.B16, V17.B16, V17.B16
	VEOR	V24.B16, V24.B16, V24.B16
	CMP	$8, R12
	BLT	mv1_4

mv1_loop8:
	VLD1.P	32(R11), [V0.S4, V1.S4]
	VLD1.P	32(R7), [V2.S4, V3.S4]
	VFMLA	V0.S4, V2.S4, V16.S4
	VFMLA	V1.S4, V3.S4, V17.S4
	DOWN(8, R12, mv1_loop8)

mv1_4:
	CMP	$4, R12
	BLT	mv1_1
	VLD1.P	16(R11), [V0.S4]
	VLD1.P	16(R7), [V2.S4]
	VFMLA	V0.S4, V2.S4, V16.S4
	SUB	$4, R12

mv1_1:
	CBZ	R12, mv1_reduce

mv1_loop1:
	FMOVS.P	4(R11), F0
	FMOVS.P	4(R7), F2
	FMADDS	F0, F24, F2, F24
	DOWN1(R12, mv1_loop1)

mv1_reduce:
	FADD4S(16, 16, 17)
	HSUM(16)
	FADDS	F24, F16
	CBZ	R5, mv1_store
	FMOVS	(R0), F0
	FADDS	F16, F0, F16 // F16 = y + sum

mv1_store:
	FMOVS.P	F16, 4(R0)
	ADD	R6, R1
	SUB	$1, R2
	CBNZ	R2, mv_row

mv_done:
	RET

// func matTVecNEON(y, a, x *float32, m, n, lda int, acc bool)
// y[j] (+)= Σ_i x[i]·a[i*lda+j] for j < n: sixteen (then four, then one) columns of y stay
// in registers while the rows stream past; even and odd rows accumulate
// separately so that consecutive FMLAs are independent.
TEXT ·matTVecNEON(SB), NOSPLIT, $0-49
	MOVD	y+0(FP), R0
	MOVD	a+8(FP), R1
	MOVD	x+16(FP), R5
	MOVD	m+24(FP), R2
	MOVD	n+32(FP), R3
	MOVD	lda+40(FP), R4
	MOVBU	acc+48(FP), R6
	LSL	$2, R4 // row stride in bytes

mt_block16:
	CMP	$16, R3
	BLT	mt_block4
	ACC16(R6, R0, mt16_rows)
	MOVD	R1, R7
	MOVD	R5, R9
	MOVD	R2, R10
	TCOLS16(R9, R7, R4, R10, mt16_loop2, mt16_1, mt16_store)
	FOLD4(16, 20)
	VST1.P	[V16.S4, V17.S4, V18.S4, V19.S4], 64(R0)
	ADD	$64, R1
	SUB	$16, R3
	B	mt_block16

mt_block4:
	CMP	$4, R3
	BLT	mt_cols1
	ACC4(R6, R0, mt4_rows)
	MOVD	R1, R7
	MOVD	R5, R9
	MOVD	R2, R10
	TCOLS4(R9, R7, R4, R10, mt4_loop2, mt4_1, mt4_store)
	FADD4S(16, 16, 20)
	VST1.P	[V16.S4], 16(R0)
	ADD	$16, R1
	SUB	$4, R3
	B	mt_block4

mt_cols1:
	CBZ	R3, mt_done

mt_col:
	VEOR	V16.B16, V16.B16, V16.B16
	CBZ	R6, mt1_rows
	FMOVS	(R0), F16

mt1_rows:
	MOVD	R1, R7
	MOVD	R5, R9
	MOVD	R2, R10
	CBZ	R10, mt1_store
	TCOL1(R9, R7, R4, R10, mt1_loop)

mt1_store:
	FMOVS.P	F16, 4(R0)
	ADD	$4, R1
	SUB	$1, R3
	CBNZ	R3, mt_col

mt_done:
	RET






// func gemm4NEON(c, a, b *float32, k, n, lda, ldb, ldc int, acc bool)
// Four rows of C (+)= four rows of A · B, with A 4×k, B k×n and C 4×n (row
// strides lda, ldb, ldc). Tiles of 4×16 keep sixteen accumulators; then
// tiles of 4×4 and single columns.
TEXT ·gemm4NEON(SB), NOSPLIT, $0-65
	GEMM_ARGS

g4_block16:
	CMP	$16, R8
	BLT	g4_block4
	CROWS
	ZERO16
	CBZ	R5, g4_16k
	LDC16

g4_16k:
	AROWS
	KLOOP(g4_16loop4, g4_16tail, g4_16loop1, g4_16store, G4STEP16, G4ONE16)
	STC16
	NEXT_TILE(64, 16, g4_block16)

g4_block4:
	CMP	$4, R8
	BLT	g4_cols1
	CROWS
	ZEROC4
	CBZ	R5, g4_4k
	LDC4

g4_4k:
	AROWS
	KLOOP(g4_4loop4, g4_4tail, g4_4loop1, g4_4store, G4STEP4, G4ONE4)
	STC4
	NEXT_TILE(16, 4, g4_block4)

g4_cols1:
	CBZ	R8, g4_done

g4_col:
	CROWS
	ZEROC4
	CBZ	R5, g4_1k
	FMOVS	(R9), F16
	FMOVS	(R15), F20
	FMOVS	(R16), F24
	FMOVS	(R17), F28

g4_1k:
	AROWS
	MOVD	R14, R19
	MOVD	R3, R20
	CBZ	R20, g4_1store

g4_1loop:
	FMOVS	(R19), F4
	ADD	R6, R19
	FMOVS.P	4(R10), F0
	FMOVS.P	4(R11), F1
	FMOVS.P	4(R12), F2
	FMOVS.P	4(R13), F3
	FMADD4(F4, F0, F1, F2, F3, F16, F20, F24, F28)
	DOWN1(R20, g4_1loop)

g4_1store:
	FMOVS	F16, (R9)
	FMOVS	F20, (R15)
	FMOVS	F24, (R16)
	FMOVS	F28, (R17)
	ADD	$4, R9
	ADD	$4, R14
	SUB	$1, R8
	CBNZ	R8, g4_col

g4_done:
	RET

// func gemm1NEON(c, a, b *float32, k, n, lda, ldb, ldc int, acc bool)
// One row of C (+)= one row of A · B: the rows of A left over by gemm4NEON.
// Even and odd k-steps accumulate separately.
TEXT ·gemm1NEON(SB), NOSPLIT, $0-65
	GEMM_ARGS

g1_block16:
	CMP	$16, R8
	BLT	g1_block4
	ACC16(R5, R9, g1_16k)
	MOVD	R1, R10
	KLOOP(g1_16loop4, g1_16tail, g1_16loop1, g1_16store, G1STEP16, G1ONE16)
	FOLD4(16, 20)
	VST1	[V16.S4, V17.S4, V18.S4, V19.S4], (R9)
	NEXT_TILE(64, 16, g1_block16)

g1_block4:
	CMP	$4, R8
	BLT	g1_cols1
	ACC4(R5, R9, g1_4k)
	MOVD	R1, R10
	KLOOP(g1_4loop4, g1_4tail, g1_4loop1, g1_4store, G1STEP4, G1ONE4)
	FADD4S(16, 16, 20)
	VST1	[V16.S4], (R9)
	NEXT_TILE(16, 4, g1_block4)

g1_cols1:
	CBZ	R8, g1_done

g1_col:
	VEOR	V16.B16, V16.B16, V16.B16
	CBZ	R5, g1_1k
	FMOVS	(R9), F16

g1_1k:
	MOVD	R1, R10
	MOVD	R14, R19
	MOVD	R3, R20
	CBZ	R20, g1_1store

g1_1loop:
	FMOVS	(R19), F4
	ADD	R6, R19
	FMOVS.P	4(R10), F0
	FMADDS	F4, F16, F0, F16
	DOWN1(R20, g1_1loop)

g1_1store:
	FMOVS.P	F16, 4(R9)
	ADD	$4, R14
	SUB	$1, R8
	CBNZ	R8, g1_col

g1_done:
	RET


// func gemmNT4NEON(c, a, b *float32, k, n, lda, ldb, ldc int, acc bool)
// Four rows of C (+)= four rows of A · Bᵀ, with A 4×k, B n×k and C 4×n (row
// strides lda, ldb, ldc).
// A 4×4 tile of C is sixteen dot products kept as sixteen vector
// accumulators; each step loads four values of four A rows and four B rows
// (NTDOT). Then one B row at a time (the n mod 4 columns left).
TEXT ·gemmNT4NEON(SB), NOSPLIT, $0-65
	GEMM_ARGS
	LSL	$2, R6, R24 // four B rows

nt4_block4:
	CMP	$4, R8
	BLT	nt4_cols1
	ZERO16
	AROWS
	MOVD	R14, R19
	ROWPTRS(R6, R19, R20, R21, R22)
	MOVD	R3, R23
	NTDOT(R23, nt4_4loop4, nt4_4tail, nt4_4tailfma, nt4_4reduce, LDA4, LDB4, LANEA4, LANEB4, ZT44, OUTER16)
	HADD4(16, 17, 18, 19)
	HADD4(20, 21, 22, 23)
	HADD4(24, 25, 26, 27)
	HADD4(28, 29, 30, 31)
	// V16, V20, V24, V28 = C rows 0..3, columns j..j+3.
	CROWS
	CBZ	R5, nt4_4store
	VLD1	(R9), [V0.S4]
	VLD1	(R15), [V1.S4]
	VLD1	(R16), [V2.S4]
	VLD1	(R17), [V3.S4]
	FADD4S(16, 0, 16)
	FADD4S(20, 1, 20)
	FADD4S(24, 2, 24)
	FADD4S(28, 3, 28)

nt4_4store:
	STC4
	ADD	$16, R9
	ADD	R24, R14
	SUB	$4, R8
	B	nt4_block4

nt4_cols1:
	CBZ	R8, nt4_done

nt4_col:
	ZEROC4
	AROWS
	MOVD	R14, R19
	MOVD	R3, R23
	NTDOT(R23, nt4_1loop4, nt4_1tail, nt4_1tailfma, nt4_1reduce, LDA4, LDB1, LANEA4, LANEB1, ZT41, NTFMA41)
	HADD4(16, 20, 24, 28)
	// V16 = column j of C rows 0..3, one row per lane.
	CROWS
	CBZ	R5, nt4_1store
	VLD1	(R9), V0.S[0]
	VLD1	(R15), V0.S[1]
	VLD1	(R16), V0.S[2]
	VLD1	(R17), V0.S[3]
	FADD4S(16, 0, 16)

nt4_1store:
	VST1	V16.S[0], (R9)
	VST1	V16.S[1], (R15)
	VST1	V16.S[2], (R16)
	VST1	V16.S[3], (R17)
	ADD	$4, R9
	ADD	R6, R14
	SUB	$1, R8
	CBNZ	R8, nt4_col

nt4_done:
	RET

// func gemmNT1NEON(c, a, b *float32, k, n, lda, ldb, ldc int, acc bool)
// One row of C (+)= one row of A · Bᵀ: the rows of A left over by
// gemmNT4NEON. Four B rows at a time, then one.
TEXT ·gemmNT1NEON(SB), NOSPLIT, $0-65
	GEMM_ARGS
	LSL	$2, R6, R24 // four B rows

nt1_block4:
	CMP	$4, R8
	BLT	nt1_cols1
	ZERO4(V16, V17, V18, V19)
	MOVD	R1, R10
	MOVD	R14, R19
	ROWPTRS(R6, R19, R20, R21, R22)
	MOVD	R3, R23
	NTDOT(R23, nt1_4loop4, nt1_4tail, nt1_4tailfma, nt1_4reduce, LDA1, LDB4, LANEA1, LANEB4, ZT14, NTFMA14)
	HADD4(16, 17, 18, 19)
	CBZ	R5, nt1_4store
	VLD1	(R9), [V0.S4]
	FADD4S(16, 0, 16)

nt1_4store:
	VST1.P	[V16.S4], 16(R9)
	ADD	R24, R14
	SUB	$4, R8
	B	nt1_block4

nt1_cols1:
	CBZ	R8, nt1_done

nt1_col:
	VEOR	V16.B16, V16.B16, V16.B16
	MOVD	R1, R10
	MOVD	R14, R19
	MOVD	R3, R23
	NTDOT(R23, nt1_1loop4, nt1_1tail, nt1_1tailfma, nt1_1reduce, LDA1, LDB1, LANEA1, LANEB1, ZT11, NTFMA11)
	HSUM(16)
	CBZ	R5, nt1_1store
	FMOVS	(R9), F0
	FADDS	F16, F0, F16

nt1_1store:
	FMOVS.P	F16, 4(R9)
	ADD	R6, R14
	SUB	$1, R8
	CBNZ	R8, nt1_col

nt1_done:
	RET

// func unitUpdateNEON(zs, h, ci *float32, row, k, t, ldz int, invHii, lo, hi float32)
// For every column j of the k×t block zs (row stride ldz):
//	g = Σ_p h[p]·zs[p][j] − ci[j]
//	zs[row][j] = clamp(zs[row][j] − g·invHii, lo, hi)
// Sixteen columns (then four, then one) at a time: the column chunk's sum,
// which reads zs[row], is complete before zs[row] is written for that chunk,
// and no other chunk reads those columns. Even and odd p accumulate
// separately.
TEXT ·unitUpdateNEON(SB), NOSPLIT, $0-68
	MOVD	zs+0(FP), R0
	MOVD	h+8(FP), R1
	MOVD	ci+16(FP), R2
	MOVD	row+24(FP), R3
	MOVD	k+32(FP), R4
	MOVD	t+40(FP), R5
	MOVD	ldz+48(FP), R6
	FMOVS	invHii+56(FP), F28
	FMOVS	lo+60(FP), F30
	FMOVS	hi+64(FP), F31
	VDUP	V28.S[0], V28.S4
	VDUP	V30.S[0], V30.S4
	VDUP	V31.S[0], V31.S4
	LSL	$2, R6 // row stride of zs in bytes
	MUL	R6, R3, R7
	ADD	R0, R7     // &zs[row][0], advanced chunk by chunk
	MOVD	R0, R8     // &zs[0][j]
	MOVD	R5, R9     // columns left

uu_block16:
	CMP	$16, R9
	BLT	uu_block4
	ZERO4(V16, V17, V18, V19)
	ZERO4(V20, V21, V22, V23)
	MOVD	R8, R10
	MOVD	R1, R11
	MOVD	R4, R12
	TCOLS16(R11, R10, R6, R12, uu16_loop2, uu16_1, uu16_update)
	FOLD4(16, 20)
	VLD1.P	64(R2), [V4.S4, V5.S4, V6.S4, V7.S4]
	FSUB4S(16, 16, 4)
	FSUB4S(17, 17, 5)
	FSUB4S(18, 18, 6)
	FSUB4S(19, 19, 7)
	VLD1	(R7), [V8.S4, V9.S4, V10.S4, V11.S4]
	VFMLS	V28.S4, V16.S4, V8.S4
	VFMLS	V28.S4, V17.S4, V9.S4
	VFMLS	V28.S4, V18.S4, V10.S4
	VFMLS	V28.S4, V19.S4, V11.S4
	CLAMP16
	VST1.P	[V8.S4, V9.S4, V10.S4, V11.S4], 64(R7)
	ADD	$64, R8
	SUB	$16, R9
	B	uu_block16

uu_block4:
	CMP	$4, R9
	BLT	uu_cols1
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V20.B16, V20.B16, V20.B16
	MOVD	R8, R10
	MOVD	R1, R11
	MOVD	R4, R12
	TCOLS4(R11, R10, R6, R12, uu4_loop2, uu4_1, uu4_update)
	FADD4S(16, 16, 20)
	VLD1.P	16(R2), [V4.S4]
	FSUB4S(16, 16, 4)
	VLD1	(R7), [V8.S4]
	VFMLS	V28.S4, V16.S4, V8.S4
	CLAMP4
	VST1.P	[V8.S4], 16(R7)
	ADD	$16, R8
	SUB	$4, R9
	B	uu_block4

uu_cols1:
	CBZ	R9, uu_done

uu_col:
	VEOR	V16.B16, V16.B16, V16.B16
	MOVD	R8, R10
	MOVD	R1, R11
	MOVD	R4, R12
	TCOL1(R11, R10, R6, R12, uu1_loop)
	FMOVS.P	4(R2), F4
	FSUBS	F4, F16          // g = sum − ci
	FMOVS	(R7), F8
	FMSUBS	F28, F8, F16, F8 // F8 = z − g·invHii
	CLAMP4
	FMOVS.P	F8, 4(R7)
	ADD	$4, R8
	SUB	$1, R9
	CBNZ	R9, uu_col

uu_done:
	RET

// func dot4x2NEON(a0, a1, a2, a3, b0, b1 *float64, k int, lanes *[32]float64, s *[8]float64)
//
// The float64 micro-kernel of Dot4x2, with the lanes of the amd64 tiers
// (bit for bit): for k a multiple of 4, lane i of entry e = 2r+c
// accumulates a_r[p]·b_c[p] for p ≡ i (mod 4), fused, in index order, from
// +0, or, when lanes is not nil, from lanes[4e+i] (a previous call's), and
// is stored back there; s[e] = (l0+l2)+(l1+l3). Entry e's lanes 0, 1 are
// V(16+2e).D2 and lanes 2, 3 V(17+2e).D2; a_r[p…p+3] are V(2r), V(2r+1),
// b_c[p…p+3] V(8+2c), V(9+2c). The wrapper (dot4x2Lanes, split.go) cuts
// long calls and adds the products past k.

// c_lo += a_lo·b_lo and c_hi += a_hi·b_hi for the two halves of four
// elements.
#define FMLA2D(alo, ahi, blo, bhi, clo, chi) VFMLA blo.D2, alo.D2, clo.D2; VFMLA bhi.D2, ahi.D2, chi.D2

// V(d) = (s_e, s_e+1) from the lanes of entries e and e+1 in V(n)…V(n+3)
// (V(d+4) scratch): (l0+l2, l1+l3) per entry, then the pair of each added.
#define HSUM2x64(d, t, n0, n1, n2, n3) FADD2D(d, n0, n1); FADD2D(t, n2, n3); FADDP2D(d, d, t)

TEXT ·dot4x2NEON(SB), NOSPLIT, $0-72
	MOVD	a0+0(FP), R0
	MOVD	a1+8(FP), R1
	MOVD	a2+16(FP), R2
	MOVD	a3+24(FP), R3
	MOVD	b0+32(FP), R4
	MOVD	b1+40(FP), R5
	MOVD	k+48(FP), R6
	MOVD	lanes+56(FP), R7
	MOVD	s+64(FP), R9
	CBZ	R7, d42_zero
	MOVD	R7, R8
	VLD1.P	64(R8), [V16.D2, V17.D2, V18.D2, V19.D2]
	VLD1.P	64(R8), [V20.D2, V21.D2, V22.D2, V23.D2]
	VLD1.P	64(R8), [V24.D2, V25.D2, V26.D2, V27.D2]
	VLD1	(R8), [V28.D2, V29.D2, V30.D2, V31.D2]
	B	d42_start

d42_zero:
	ZERO16

d42_start:
	CMP	$4, R6
	BLT	d42_done

d42_loop:
	VLD1.P	32(R4), [V8.D2, V9.D2]
	VLD1.P	32(R5), [V10.D2, V11.D2]
	VLD1.P	32(R0), [V0.D2, V1.D2]
	VLD1.P	32(R1), [V2.D2, V3.D2]
	FMLA2D(V0, V1, V8, V9, V16, V17)
	FMLA2D(V0, V1, V10, V11, V18, V19)
	VLD1.P	32(R2), [V4.D2, V5.D2]
	FMLA2D(V2, V3, V8, V9, V20, V21)
	FMLA2D(V2, V3, V10, V11, V22, V23)
	VLD1.P	32(R3), [V6.D2, V7.D2]
	FMLA2D(V4, V5, V8, V9, V24, V25)
	FMLA2D(V4, V5, V10, V11, V26, V27)
	FMLA2D(V6, V7, V8, V9, V28, V29)
	FMLA2D(V6, V7, V10, V11, V30, V31)
	DOWN(4, R6, d42_loop)

d42_done:
	CBZ	R7, d42_sum
	MOVD	R7, R8
	VST1.P	[V16.D2, V17.D2, V18.D2, V19.D2], 64(R8)
	VST1.P	[V20.D2, V21.D2, V22.D2, V23.D2], 64(R8)
	VST1.P	[V24.D2, V25.D2, V26.D2, V27.D2], 64(R8)
	VST1	[V28.D2, V29.D2, V30.D2, V31.D2], (R8)

d42_sum:
	HSUM2x64(0, 4, 16, 17, 18, 19)
	HSUM2x64(1, 5, 20, 21, 22, 23)
	HSUM2x64(2, 6, 24, 25, 26, 27)
	HSUM2x64(3, 7, 28, 29, 30, 31)
	VST1	[V0.D2, V1.D2, V2.D2, V3.D2], (R9)
	RET

// sweepMask4<>+4·(4−k) is the mask of the lanes ≥ k of a vector (k = 0…4):
// four zero words, then four all-ones words.
DATA	sweepMask4<>+0(SB)/8, $0
DATA	sweepMask4<>+8(SB)/8, $0
DATA	sweepMask4<>+16(SB)/8, $-1
DATA	sweepMask4<>+24(SB)/8, $-1
GLOBL	sweepMask4<>(SB), RODATA|NOPTR, $32

// One chunk of four columns of the four window rows: z at R19, the rows at
// R10–R13 (all advance), into accumulators c0…c3.
#define SW4_CHUNK(c0, c1, c2, c3) \
	VLD1.P	16(R19), [V0.S4]; \
	VLD1.P	16(R10), [V1.S4]; \
	VLD1.P	16(R11), [V2.S4]; \
	VLD1.P	16(R12), [V3.S4]; \
	VLD1.P	16(R13), [V4.S4]; \
	FMLA4(V0, V1, V2, V3, V4, c0, c1, c2, c3)

// cnt ≥ 0 chunks, two at a time into both sets of accumulators.
#define SW4_CHUNKS(cnt, two, one, done) \
two: \
	CMP	$2, cnt; \
	BLT	one; \
	SW4_CHUNK(V16, V17, V18, V19); \
	SW4_CHUNK(V20, V21, V22, V23); \
	SUB	$2, cnt; \
	B	two; \
one: \
	CBZ	cnt, done; \
	SW4_CHUNK(V16, V17, V18, V19); \
done:

// The next window row (R24 advances by the row stride) of the diagonal
// chunk (z in V0), h and z masked to the lanes in mask, into acc.
#define SW4_DIAG(mask, acc) \
	ADD	R7, R24; \
	VLD1	(R24), [V1.S4]; \
	VAND	mask.B16, V1.B16, V1.B16; \
	VAND	mask.B16, V0.B16, V5.B16; \
	VFMLA	V5.S4, V1.S4, acc.S4

// Window row at R24 (which then advances) of the shifted last chunk (z,
// masked, in V0), h masked by V13, into acc.
#define SW4_TAIL(acc) \
	VLD1	(R24), [V1.S4]; \
	VAND	V13.B16, V1.B16, V1.B16; \
	VFMLA	V0.S4, V1.S4, acc.S4; \
	ADD	R7, R24

// The step of row r0+k of a whole block given g in F17 (z at R19, invH at
// R14): F8 = clamp(z − g·invH) with the semantics of clampGeneric, stored.
#define SW4_STEP(k) \
	FMOVS	(4*k)(R19), F8; \
	FMOVS	(4*k)(R14), F5; \
	FMSUBS	F5, F8, F17, F8; \
	CLAMP4; \
	FMOVS	F8, (4*k)(R19)

// F17 += h[r][p]·z[p] (h at off(R24), the new z[p] in f).
#define SW4_TRI(off, f) FMOVS off(R24), F4; FMADDS f, F17, F4, F17

// func sweep4NEON(z, h, c, invH *float32, d, i0, i1 int, lo, hi float32)
//
// Rows i0 … i1−1 of a BCD sweep for one problem (see Sweep), d ≥ 4, i0 a
// multiple of 4 and i1 one or d: the blocked sweep of sweep8AVX2
// (avx2_amd64.s) in blocks of four rows. Phase A: the four rows of a
// window (rb = min(r0, d−4) … rb+3) times every chunk of four columns of z
// (at 4v for v < d/4, then one ending at column d whose lanes also in the
// chunk before are masked out, V13), each z chunk loaded once for the four
// rows, the diagonal chunk (columns rb … rb+3) masked for window row k to
// its lanes ≥ k in h and in z; the four sums added across lanes together.
// Phase B, in scalar registers: g = (s − c[r]) + Σ_{r0≤p<r} h[r][p]·z[p]
// with the new z[p], z[r] = clamp(z[r] − g·invH[r], lo, hi), stored; a
// whole block is unrolled (its new values in F24–F26), the partial last one
// loops. The products are summed in another order than the dot product's,
// which the contract allows. No load reaches past a row of h or past z.
TEXT ·sweep4NEON(SB), NOSPLIT, $16-64
	MOVD	z+0(FP), R0
	MOVD	h+8(FP), R1
	MOVD	c+16(FP), R2
	MOVD	invH+24(FP), R3
	MOVD	d+32(FP), R4
	MOVD	i0+40(FP), R8
	MOVD	i1+48(FP), R6
	FMOVS	lo+56(FP), F30
	FMOVS	hi+60(FP), F31
	VDUP	V30.S[0], V30.S4
	VDUP	V31.S[0], V31.S4
	LSL	$2, R4, R7 // row stride in bytes
	MOVD	$sweepMask4<>(SB), R20
	ADD	$12, R20, R21
	VLD1	(R21), [V9.S4] // lanes ≥ 1
	ADD	$8, R20, R21
	VLD1	(R21), [V10.S4] // lanes ≥ 2
	ADD	$4, R20, R21
	VLD1	(R21), [V11.S4] // lanes ≥ 3
	AND	$3, R4, R21
	ADD	R21<<2, R20, R21
	VLD1	(R21), [V13.S4] // the lanes ≥ 4 − d mod 4 of the last chunk
	AND	$~3, R4, R15
	LSL	$2, R15 // end of the whole chunks in bytes

sw4_block:
	CMP	R6, R8
	BGE	sw4_done

	// ---- Phase A. R9 = rb; R10–R13 = the window rows; R16 = 4·r0.
	SUB	$4, R4, R9
	CMP	R9, R8
	CSEL	LT, R8, R9, R9
	ZERO4(V16, V17, V18, V19)
	ZERO4(V20, V21, V22, V23)
	MUL	R7, R9, R10
	ADD	R1, R10
	ADD	R7, R10, R11
	ADD	R7, R11, R12
	ADD	R7, R12, R13
	MOVD	R0, R19
	LSL	$2, R8, R16
	CMP	R15, R16
	CSEL	GT, R15, R16, R21
	LSR	$4, R21 // whole chunks before the diagonal one
	SW4_CHUNKS(R21, sw4_a2, sw4_a1, sw4_a0)
	ADD	$16, R19 // past the diagonal chunk
	ADD	$16, R10
	ADD	$16, R11
	ADD	$16, R12
	ADD	$16, R13
	SUB	R16, R15, R21
	SUB	$16, R21
	ASR	$4, R21
	CMP	$0, R21
	CSEL	LT, ZR, R21, R21 // whole chunks after it (none in the last block)
	SW4_CHUNKS(R21, sw4_b2, sw4_b1, sw4_b0)

	// The diagonal chunk, columns rb … rb+3 (R23 = &h[rb][rb]).
	LSL	$2, R9, R22
	ADD	R0, R22, R19
	VLD1	(R19), [V0.S4]
	MUL	R7, R9, R23
	ADD	R1, R23
	ADD	R22, R23
	MOVD	R23, R24
	VLD1	(R24), [V1.S4]
	VFMLA	V0.S4, V1.S4, V16.S4 // window row 0: every lane
	SW4_DIAG(V9, V17)
	SW4_DIAG(V10, V18)
	SW4_DIAG(V11, V19)

	// The shifted last chunk (column d−4), unless it is the diagonal one
	// (last block) or d is a multiple of 4 (then it was a whole chunk).
	ADD	$4, R8, R21
	CMP	R4, R21
	BGE	sw4_sum
	TST	$3, R4
	BEQ	sw4_sum
	SUB	$16, R7, R21 // 4·(d−4)
	ADD	R0, R21, R19
	VLD1	(R19), [V0.S4]
	VAND	V13.B16, V0.B16, V0.B16
	MUL	R7, R9, R24
	ADD	R1, R24
	ADD	R21, R24
	SW4_TAIL(V16)
	SW4_TAIL(V17)
	SW4_TAIL(V18)
	SW4_TAIL(V19)

sw4_sum:
	FOLD4(16, 20)
	HADD4(16, 17, 18, 19) // V16 = the sums of window rows 0…3
	ADD	$4, R8, R21
	CMP	R4, R21
	BGT	sw4_part

	// ---- Phase B, a whole block (rb = r0, R23 = &h[r0][r0]).
	LSL	$2, R8, R22
	ADD	R2, R22, R17
	ADD	R3, R22, R14
	ADD	R0, R22, R19
	VLD1	(R17), [V1.S4]
	FSUB4S(16, 16, 1) // s − c[r0 … r0+3]
	FMOVS	F16, F17
	SW4_STEP(0)
	FMOVS	F8, F24
	VDUP	V16.S[1], V17.S4
	ADD	R7, R23, R24
	SW4_TRI(0, F24)
	SW4_STEP(1)
	FMOVS	F8, F25
	VDUP	V16.S[2], V17.S4
	ADD	R7, R24
	SW4_TRI(0, F24)
	SW4_TRI(4, F25)
	SW4_STEP(2)
	FMOVS	F8, F26
	VDUP	V16.S[3], V17.S4
	ADD	R7, R24
	SW4_TRI(0, F24)
	SW4_TRI(4, F25)
	SW4_TRI(8, F26)
	SW4_STEP(3)
	ADD	$4, R8
	B	sw4_block

sw4_part:
	// ---- Phase B, the partial last block: rows r = r0 … d−1 (R22), the
	// window sums in buf from index r0 − rb (R20), R24 = row r of h.
	MOVD	$buf-16(SP), R20
	VST1	[V16.S4], (R20)
	SUB	R9, R8, R21
	ADD	R21<<2, R20, R20
	MUL	R7, R8, R24
	ADD	R1, R24
	MOVD	R8, R22

sw4_prow:
	FMOVS.P	4(R20), F17
	ADD	R22<<2, R2, R25
	FMOVS	(R25), F4
	FSUBS	F4, F17 // s − c[r]
	MOVD	R8, R23

sw4_ptri:
	// + h[r][p]·z[p] for r0 ≤ p < r (R23 = p), stored by earlier rows.
	CMP	R22, R23
	BGE	sw4_pstep
	ADD	R23<<2, R24, R25
	FMOVS	(R25), F4
	ADD	R23<<2, R0, R25
	FMOVS	(R25), F5
	FMADDS	F5, F17, F4, F17
	ADD	$1, R23
	B	sw4_ptri

sw4_pstep:
	ADD	R22<<2, R0, R25
	FMOVS	(R25), F8
	ADD	R22<<2, R3, R23
	FMOVS	(R23), F5
	FMSUBS	F5, F8, F17, F8
	CLAMP4
	FMOVS	F8, (R25)
	ADD	R7, R24
	ADD	$1, R22
	CMP	R4, R22
	BLT	sw4_prow

sw4_done:
	RET

// The row of w for the next nonzero of a sparse axpy: R7 = w + idx[k]·ld
// (R1 = w at the block's first column, R2 = 4·ld), val[k] in all lanes of
// V31; idx (R4) and val (R5) advance.
#define SPARSE_ROW \
	MOVW.P	4(R4), R7; \
	FMOVS.P	4(R5), F31; \
	MUL	R2, R7, R7; \
	ADD	R1, R7, R7; \
	VDUP	V31.S[0], V31.S4

// Restart the chain over the nonzeros: idx in R4, val in R5, k in R6.
#define SPARSE_START MOVD R8, R4; MOVD R9, R5; MOVD R10, R6

// func sparseAxpyNEON(y, w *float32, ld int, idx *int32, val *float32, k, cols int)
//
// y[e] += Σ_j val[j]·w[idx[j]·ld + e] for e < cols (k ≥ 1), per element one
// chain of fused multiply-adds over j in order (see SparseAxpy), in blocks
// of 16 columns (V16–V19 for the whole chain), then 4 (V16), then single
// columns (F16).
TEXT ·sparseAxpyNEON(SB), NOSPLIT, $0-56
	MOVD	y+0(FP), R0
	MOVD	w+8(FP), R1
	MOVD	ld+16(FP), R2
	MOVD	idx+24(FP), R8
	MOVD	val+32(FP), R9
	MOVD	k+40(FP), R10
	MOVD	cols+48(FP), R3
	LSL	$2, R2

sp16:
	CMP	$16, R3
	BLT	sp4
	VLD1	(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	SPARSE_START

sp16_loop:
	SPARSE_ROW
	VLD1	(R7), [V0.S4, V1.S4, V2.S4, V3.S4]
	FMLA4(V31, V0, V1, V2, V3, V16, V17, V18, V19)
	DOWN1(R6, sp16_loop)
	VST1.P	[V16.S4, V17.S4, V18.S4, V19.S4], 64(R0)
	ADD	$64, R1
	SUB	$16, R3
	B	sp16

sp4:
	CMP	$4, R3
	BLT	sp1
	VLD1	(R0), [V16.S4]
	SPARSE_START

sp4_loop:
	SPARSE_ROW
	VLD1	(R7), [V0.S4]
	VFMLA	V31.S4, V0.S4, V16.S4
	DOWN1(R6, sp4_loop)
	VST1.P	[V16.S4], 16(R0)
	ADD	$16, R1
	SUB	$4, R3
	B	sp4

sp1:
	CBZ	R3, spdone
	FMOVS	(R0), F16
	SPARSE_START

sp1_loop:
	SPARSE_ROW
	FMOVS	(R7), F0
	FMADDS	F31, F16, F0, F16
	DOWN1(R6, sp1_loop)
	FMOVS.P	F16, 4(R0)
	ADD	$4, R1
	SUB	$1, R3
	B	sp1

spdone:
	RET
