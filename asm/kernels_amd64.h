// Macros shared by avx2_amd64.s and avx512_amd64.s. Each file defines,
// before including this, the byte offsets VW1, VW2, VW3 of the second, third
// and fourth vector of a row (32, 64, 96 for YMM; 64, 128, 192 for ZMM), the
// bytes of four vectors VB4 (128, 256) and the float32s in them VN4 (32, 64).

// Zero four vector registers (op: VXORPS for YMM, VPXORD for ZMM).
#define ZERO4(op, a, b, c, d) op a, a, a; op b, b, b; op c, c, c; op d, d, d

// c_i += b_i·x for i = 0…3 (b_i registers or memory operands).
#define FMA4(x, b0, b1, b2, b3, c0, c1, c2, c3) \
	VFMADD231PS	b0, x, c0; \
	VFMADD231PS	b1, x, c1; \
	VFMADD231PS	b2, x, c2; \
	VFMADD231PS	b3, x, c3

// c_i += (the i-th vector of the row at m)·x for i = 0…3.
#define FMAROW4(x, m, c0, c1, c2, c3) FMA4(x, m, VW1 m, VW2 m, VW3 m, c0, c1, c2, c3)

// The four vectors of the row at m to or from a…d.
#define LOADROW4(m, a, b, c, d) VMOVUPS m, a; VMOVUPS VW1 m, b; VMOVUPS VW2 m, c; VMOVUPS VW3 m, d
#define STOREROW4(m, a, b, c, d) VMOVUPS a, m; VMOVUPS b, VW1 m; VMOVUPS c, VW2 m; VMOVUPS d, VW3 m

// c0 = c0 + c1 + (c2 + c3): the four accumulators of a dot product.
#define SUM4(c0, c1, c2, c3) VADDPS c1, c0, c0; VADDPS c3, c2, c2; VADDPS c2, c0, c0

// a_i += b_i for i = 0…3.
#define ADD4(b0, b1, b2, b3, a0, a1, a2, a3) VADDPS b0, a0, a0; VADDPS b1, a1, a1; VADDPS b2, a2, a2; VADDPS b3, a3, a3

// a_i = min(max(a_i, lo), hi) with the semantics of clampGeneric (see the
// operand order note in each file).
#define CLAMP4(lo, hi, a, b, c, d) \
	VMAXPS	a, lo, a; \
	VMAXPS	b, lo, b; \
	VMAXPS	c, lo, c; \
	VMAXPS	d, lo, d; \
	VMINPS	a, hi, a; \
	VMINPS	b, hi, b; \
	VMINPS	c, hi, c; \
	VMINPS	d, hi, d

// The peak-FMA loop: CX iterations of 24 independent FMAs x·y into twelve
// accumulators (twice each).
#define PEAK_LOOP(lbl, x, y, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) \
lbl: \
	FMA4(x, y, y, y, y, a0, a1, a2, a3); \
	FMA4(x, y, y, y, y, a4, a5, a6, a7); \
	FMA4(x, y, y, y, y, a8, a9, a10, a11); \
	FMA4(x, y, y, y, y, a0, a1, a2, a3); \
	FMA4(x, y, y, y, y, a4, a5, a6, a7); \
	FMA4(x, y, y, y, y, a8, a9, a10, a11); \
	DECQ	CX; \
	JNZ	lbl

// Row offsets of a block of up to four rows: R12, R13, DX = min(r, rv−1)·stride
// for r = 1, 2, 3, where rv = min(R11, 4) is the number of valid rows. Rows
// past the end repeat the last valid row, so a partial block reads nothing
// outside the matrix and stores identical values over that row.
#define ROWOFFS(stride) \
	MOVQ	$4, AX; \
	CMPQ	R11, AX; \
	CMOVQLT	R11, AX; \
	DECQ	AX; \
	MOVQ	$1, R12; \
	CMPQ	AX, R12; \
	CMOVQLT	AX, R12; \
	IMULQ	stride, R12; \
	MOVQ	$2, R13; \
	CMPQ	AX, R13; \
	CMOVQLT	AX, R13; \
	IMULQ	stride, R13; \
	MOVQ	$3, DX; \
	CMPQ	AX, DX; \
	CMOVQLT	AX, DX; \
	IMULQ	stride, DX

// Count cnt down by four vectors of elements and loop to lbl while four are
// left.
#define NEXT4(cnt, lbl) SUBQ $VN4, cnt; CMPQ cnt, $VN4; JAE lbl

// The four-vector loops of the streaming kernels (cnt ≥ VN4 on entry; x and
// y advance): c_i += x·y (dot products, t_i scratch), y += a·x (axpy) and
// x = clamp(x, lo, hi).
#define DOT4_LOOP(lbl, x, y, cnt, t0, t1, t2, t3, c0, c1, c2, c3) \
lbl: \
	LOADROW4((x), t0, t1, t2, t3); \
	VFMADD231PS	(y), t0, c0; \
	VFMADD231PS	VW1(y), t1, c1; \
	VFMADD231PS	VW2(y), t2, c2; \
	VFMADD231PS	VW3(y), t3, c3; \
	ADDQ	$VB4, x; \
	ADDQ	$VB4, y; \
	NEXT4(cnt, lbl)

#define AXPY4_LOOP(lbl, a, x, y, cnt, t0, t1, t2, t3) \
lbl: \
	LOADROW4((y), t0, t1, t2, t3); \
	FMAROW4(a, (x), t0, t1, t2, t3); \
	STOREROW4((y), t0, t1, t2, t3); \
	ADDQ	$VB4, x; \
	ADDQ	$VB4, y; \
	NEXT4(cnt, lbl)

#define CLAMP4_LOOP(lbl, lo, hi, x, cnt, t0, t1, t2, t3) \
lbl: \
	LOADROW4((x), t0, t1, t2, t3); \
	CLAMP4(lo, hi, t0, t1, t2, t3); \
	STOREROW4((x), t0, t1, t2, t3); \
	ADDQ	$VB4, x; \
	NEXT4(cnt, lbl)

// Four rows × two vectors of a matrix-vector product: the rows at (AX),
// (AX)(R8*1), (AX)(R8*2), (AX)(R9*1) (R9 = 3·R8) times x0 (the first
// vector) and x1 (at VW1) into c0…c7, two accumulators a row.
#define FMA4ROWS2(x0, x1, c0, c1, c2, c3, c4, c5, c6, c7) \
	VFMADD231PS	(AX), x0, c0; \
	VFMADD231PS	VW1(AX), x1, c1; \
	VFMADD231PS	(AX)(R8*1), x0, c2; \
	VFMADD231PS	VW1(AX)(R8*1), x1, c3; \
	VFMADD231PS	(AX)(R8*2), x0, c4; \
	VFMADD231PS	VW1(AX)(R8*2), x1, c5; \
	VFMADD231PS	(AX)(R9*1), x0, c6; \
	VFMADD231PS	VW1(AX)(R9*1), x1, c7

// The peak-FMA kernel body (func peakFMA…(n int)): zero the registers (op),
// then the loop.
#define PEAK_KERNEL(op, x, y, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) \
	MOVQ	n+0(FP), CX; \
	ZERO4(op, a0, a1, a2, a3); \
	ZERO4(op, a4, a5, a6, a7); \
	ZERO4(op, a8, a9, a10, a11); \
	op	y, y, y; \
	op	x, x, x; \
	TESTQ	CX, CX; \
	JLE	pdone; \
	PEAK_LOOP(ploop, x, y, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11); \
pdone: \
	VZEROUPPER; \
	RET

// The BCD step of sweep row BX given g = s − c[i] in X0: z[i] = clamp(z[i] −
// g·invH[i], X14, X15) (z at DI, invH at R9), in scalar registers, stored
// so that the next row reads it; the new z[i] stays in X1 (X2 scratch).
// invH[i] is loaded on its own: no scalar FMA takes a memory operand, since
// QEMU (7.2, TCG; CI runs the AVX2 tier under qemu-x86_64 -cpu Haswell)
// reads 16 bytes for one, which faults past the end of a slice.
#define SWEEP_STEP \
	VMOVSS	(R9)(BX*4), X2; \
	VMOVSS	(DI)(BX*4), X1; \
	VFNMADD231SS	X2, X0, X1; \
	VMAXSS	X1, X14, X1; \
	VMINSS	X1, X15, X1; \
	VMOVSS	X1, (DI)(BX*4)

// The four-vector column block of matTVec (y at DI, the matrix at SI with
// row stride R8, x at DX, m = R11 rows, n = R12 columns left, acc in R13):
// y[j…] (+)= Σ_i x[i]·a[i][j…], even rows into r0…r3, odd rows into r4…r7,
// x values broadcast into r8, r9; then on to the next block (lbl) or, with
// fewer than four vectors of columns left, to next.
#define MATTVEC_BLOCK4(op, lbl, next, init, two, one, store, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9) \
lbl: \
	CMPQ	R12, $VN4; \
	JB	next; \
	ZERO4(op, r0, r1, r2, r3); \
	TESTQ	R13, R13; \
	JZ	init; \
	LOADROW4((DI), r0, r1, r2, r3); \
init: \
	ZERO4(op, r4, r5, r6, r7); \
	MOVQ	SI, AX; \
	MOVQ	DX, BX; \
	MOVQ	R11, CX; \
two: \
	CMPQ	CX, $2; \
	JB	one; \
	VBROADCASTSS	(BX), r8; \
	VBROADCASTSS	4(BX), r9; \
	FMAROW4(r8, (AX), r0, r1, r2, r3); \
	FMAROW4(r9, (AX)(R8*1), r4, r5, r6, r7); \
	LEAQ	(AX)(R8*2), AX; \
	ADDQ	$8, BX; \
	SUBQ	$2, CX; \
	JMP	two; \
one: \
	TESTQ	CX, CX; \
	JZ	store; \
	VBROADCASTSS	(BX), r8; \
	FMAROW4(r8, (AX), r0, r1, r2, r3); \
store: \
	ADD4(r4, r5, r6, r7, r0, r1, r2, r3); \
	STOREROW4((DI), r0, r1, r2, r3); \
	ADDQ	$VB4, DI; \
	ADDQ	$VB4, SI; \
	SUBQ	$VN4, R12; \
	JMP	lbl
