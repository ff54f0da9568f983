package asm

// The Go assembler lacks several Advanced SIMD floating-point instructions,
// so neon_arm64.s writes each of them once, as a macro
// `#define NAME(d, n, m) WORD $(expression)` under a comment naming the
// instruction in Arm syntax. TestWordEncodings evaluates every such macro
// for all register numbers and compares it with the small encoder below
// (field layouts from the Arm Architecture Reference Manual, A64 "Advanced
// SIMD three same", "vector x indexed element" and "scalar pairwise"), so a
// WORD cannot silently disagree with the instruction its comment names. The encoder is itself checked
// against encodings produced by GNU as (binutils-aarch64-linux-gnu 2.40) and,
// for FMLA, by the Go assembler's own test data.
//
// The file has no purego constraint: it reads the .s files as text.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// a64Operand is one operand in Arm syntax: a vector with an arrangement
// (V3.4S), a vector element (V3.S[1]) or a scalar FP register (S3, D3).
type a64Operand struct {
	kind byte // 'v' vector, 'e' element, 's' scalar
	reg  uint32
	arr  string // vector: "2S", "4S", "2D"; element: "S", "D"; scalar: "S", "D"
	idx  uint32 // element index
}

var (
	a64VecRx  = regexp.MustCompile(`^V([0-9]+)\.(2S|4S|2D)$`)
	a64ElemRx = regexp.MustCompile(`^V([0-9]+)\.(S|D)\[([0-9])\]$`)
	a64ScalRx = regexp.MustCompile(`^([SD])([0-9]+)$`)
)

func parseA64Operand(s string) (a64Operand, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	reg := func(t string) (uint32, error) {
		r, err := strconv.Atoi(t)
		if err != nil || r < 0 || r > 31 {
			return 0, fmt.Errorf("bad register in %q", s)
		}
		return uint32(r), nil
	}
	if m := a64VecRx.FindStringSubmatch(s); m != nil {
		r, err := reg(m[1])
		return a64Operand{kind: 'v', reg: r, arr: m[2]}, err
	}
	if m := a64ElemRx.FindStringSubmatch(s); m != nil {
		r, err := reg(m[1])
		i, _ := strconv.Atoi(m[3])
		if (m[2] == "S" && i > 3) || (m[2] == "D" && i > 1) {
			return a64Operand{}, fmt.Errorf("element index out of range in %q", s)
		}
		return a64Operand{kind: 'e', reg: r, arr: m[2], idx: uint32(i)}, err
	}
	if m := a64ScalRx.FindStringSubmatch(s); m != nil {
		r, err := reg(m[2])
		return a64Operand{kind: 's', reg: r, arr: m[1]}, err
	}
	return a64Operand{}, fmt.Errorf("unsupported operand %q", s)
}

// a64ThreeSameFP holds U, bit 23 and opcode of the Advanced SIMD three-same
// floating-point instructions:
// 0 Q U 01110 a sz 1 Rm opcode 1 Rn Rd.
var a64ThreeSameFP = map[string]struct{ u, a, opcode uint32 }{
	"FMAXNM": {0, 0, 0b11000},
	"FMLA":   {0, 0, 0b11001},
	"FADD":   {0, 0, 0b11010},
	"FCMEQ":  {0, 0, 0b11100},
	"FMAX":   {0, 0, 0b11110},
	"FMINNM": {0, 1, 0b11000},
	"FMLS":   {0, 1, 0b11001},
	"FSUB":   {0, 1, 0b11010},
	"FMIN":   {0, 1, 0b11110},
	"FADDP":  {1, 0, 0b11010},
	"FMUL":   {1, 0, 0b11011},
	"FCMGE":  {1, 0, 0b11100},
	"FDIV":   {1, 0, 0b11111},
	"FCMGT":  {1, 1, 0b11100},
}

// a64ByElementFP holds the opcode of the by-element forms (U = 0):
// 0 Q 0 01111 1 sz L M Rm opcode H 0 Rn Rd.
var a64ByElementFP = map[string]uint32{
	"FMLA": 0b0001,
	"FMLS": 0b0101,
	"FMUL": 0b1001,
}

// qsz returns the Q and sz fields of a floating-point arrangement.
func qsz(arr string) (q, sz uint32) {
	switch arr {
	case "2S":
		return 0, 0
	case "4S":
		return 1, 0
	default: // "2D"
		return 1, 1
	}
}

// encodeA64 encodes one instruction written in Arm syntax, for the classes
// this package writes as WORD.
func encodeA64(text string) (uint32, error) {
	text = strings.TrimSpace(text)
	mn, rest, _ := strings.Cut(text, " ")
	mn = strings.ToUpper(mn)
	var ops []a64Operand
	for _, f := range strings.Split(rest, ",") {
		op, err := parseA64Operand(f)
		if err != nil {
			return 0, fmt.Errorf("%q: %v", text, err)
		}
		ops = append(ops, op)
	}
	switch {
	case len(ops) == 2 && mn == "FADDP" && ops[0].kind == 's' && ops[1].kind == 'v':
		// Scalar pairwise: 01 1 11110 0 sz 11000 01101 10 Rn Rd.
		d, n := ops[0], ops[1]
		var sz uint32
		switch {
		case d.arr == "S" && n.arr == "2S":
		case d.arr == "D" && n.arr == "2D":
			sz = 1
		default:
			return 0, fmt.Errorf("%q: FADDP scalar needs S/2S or D/2D", text)
		}
		return 0x7e30d800 | sz<<22 | n.reg<<5 | d.reg, nil

	case len(ops) == 3 && ops[0].kind == 'v' && ops[1].kind == 'v' && ops[2].kind == 'v':
		f, ok := a64ThreeSameFP[mn]
		if !ok {
			return 0, fmt.Errorf("%q: no three-same encoding for %s", text, mn)
		}
		d, n, m := ops[0], ops[1], ops[2]
		if d.arr != n.arr || d.arr != m.arr {
			return 0, fmt.Errorf("%q: arrangements differ", text)
		}
		q, sz := qsz(d.arr)
		return q<<30 | f.u<<29 | 0b01110<<24 | f.a<<23 | sz<<22 | 1<<21 |
			m.reg<<16 | f.opcode<<11 | 1<<10 | n.reg<<5 | d.reg, nil

	case len(ops) == 3 && ops[0].kind == 'v' && ops[1].kind == 'v' && ops[2].kind == 'e':
		opc, ok := a64ByElementFP[mn]
		if !ok {
			return 0, fmt.Errorf("%q: no by-element encoding for %s", text, mn)
		}
		d, n, m := ops[0], ops[1], ops[2]
		if d.arr != n.arr || d.arr[1:] != m.arr {
			return 0, fmt.Errorf("%q: arrangement and element size differ", text)
		}
		q, sz := qsz(d.arr)
		var h, l uint32
		if sz == 0 {
			h, l = m.idx>>1, m.idx&1
		} else {
			h = m.idx
		}
		// For single precision M:Rm is the whole 5-bit register number; for
		// double precision M is the top bit of Rm as well (L is zero).
		return q<<30 | 0b01111<<24 | 1<<23 | sz<<22 | l<<21 | m.reg<<16 |
			opc<<12 | h<<11 | n.reg<<5 | d.reg, nil
	}
	return 0, fmt.Errorf("%q: unsupported instruction form", text)
}

func TestEncodeA64Reference(t *testing.T) {
	// Produced by GNU as 2.40 (aarch64-linux-gnu-as) and objdump; the FMLA
	// vector form also appears in the Go assembler's testdata/arm64.s as
	// `VFMLA V1.S4, V12.S4, V1.S4 // 81cd214e`.
	golden := []struct {
		text string
		word uint32
	}{
		{"FADD V0.4S, V1.4S, V2.4S", 0x4e22d420},
		{"FADD V31.2S, V15.2S, V7.2S", 0x0e27d5ff},
		{"FADD V3.2D, V29.2D, V30.2D", 0x4e7ed7a3},
		{"FSUB V16.4S, V16.4S, V4.4S", 0x4ea4d610},
		{"FSUB V9.2D, V10.2D, V11.2D", 0x4eebd549},
		{"FMUL V1.4S, V2.4S, V3.4S", 0x6e23dc41},
		{"FDIV V5.4S, V6.4S, V7.4S", 0x6e27fcc5},
		{"FADDP V16.4S, V16.4S, V18.4S", 0x6e32d610},
		{"FADDP V2.2D, V30.2D, V1.2D", 0x6e61d7c2},
		{"FMAX V1.4S, V2.4S, V3.4S", 0x4e23f441},
		{"FMIN V1.4S, V2.4S, V3.4S", 0x4ea3f441},
		{"FMAXNM V1.4S, V2.4S, V3.4S", 0x4e23c441},
		{"FMINNM V8.2S, V9.2S, V10.2S", 0x0eaac528},
		{"FCMEQ V4.4S, V5.4S, V6.4S", 0x4e26e4a4},
		{"FCMGE V4.4S, V5.4S, V6.4S", 0x6e26e4a4},
		{"FCMGT V4.4S, V30.4S, V0.4S", 0x6ea0e7c4},
		{"FCMGT V12.2D, V8.2D, V31.2D", 0x6effe50c},
		{"FMLA V1.4S, V12.4S, V1.4S", 0x4e21cd81},
		{"FMLS V1.2D, V12.2D, V1.2D", 0x4ee1cd81},
		{"FMLA V16.4S, V4.4S, V0.S[0]", 0x4f801090},
		{"FMLA V31.4S, V4.4S, V17.S[1]", 0x4fb1109f},
		{"FMLA V5.2S, V27.2S, V9.S[2]", 0x0f891b65},
		{"FMLA V16.4S, V11.4S, V31.S[3]", 0x4fbf1970},
		{"FMLS V7.4S, V8.4S, V20.S[2]", 0x4f945907},
		{"FMUL V1.4S, V2.4S, V3.S[1]", 0x4fa39041},
		{"FMLA V0.2D, V1.2D, V19.D[1]", 0x4fd31820},
		{"FMUL V2.2D, V3.2D, V4.D[0]", 0x4fc49062},
		{"FADDP S16, V16.2S", 0x7e30da10},
		{"FADDP S0, V31.2S", 0x7e30dbe0},
		{"FADDP D7, V3.2D", 0x7e70d867},
	}
	for _, g := range golden {
		w, err := encodeA64(g.text)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("%#08x", g.word), fmt.Sprintf("%#08x", w), g.text)
	}
	for _, bad := range []string{
		"FADD V0.4S, V1.4S",               // operand count
		"FADD V0.4S, V1.4S, V2.2S",        // mixed arrangements
		"FMLA V0.4S, V1.4S, V2.S[4]",      // index out of range
		"FMLA V0.4S, V1.4S, V2.D[1]",      // element size
		"FRECPE V0.4S, V1.4S, V2.4S",      // not in the table
		"FADD V32.4S, V1.4S, V2.4S",       // register number
		"FADDP S0, V1.2D",                 // size mismatch
		"FADD V0.16B, V1.16B, V2.16B",     // integer arrangement
		"FMAXNMP V0.4S, V1.4S, V2.4S",     // not in the table
		"FADD V0.4S, V1.4S, V2.4S, V3.4S", // operand count
	} {
		_, err := encodeA64(bad)
		require.Error(t, err, bad)
	}
}

// wordMacroRx matches a WORD macro: `#define NAME(params) WORD $(expression)`.
var wordMacroRx = regexp.MustCompile(`^#define\s+(\w+)\(([^)]*)\)\s+WORD\s+\$(\(.*\))\s*$`)

// templateRegRx matches a register operand of a macro's template named by a
// parameter (Vd, Sn, …) and templateIdxRx an element index parameter ([i]).
var (
	templateRegRx = regexp.MustCompile(`\b([VS])([a-z]\w*)\b`)
	templateIdxRx = regexp.MustCompile(`\[([a-z]\w*)\]`)
)

// regValues are the register numbers a WORD macro is checked with: each bit
// of the 5-bit field alone, none, all and a mixture, so that a field in the
// wrong place, of the wrong width or overlapping another shows.
var regValues = []uint64{0, 1, 2, 4, 8, 16, 31, 21}

// evalConst evaluates the integer constant expression of a WORD macro with
// its parameters bound (literals, parentheses, | & << >> + - *).
func evalConst(e ast.Expr, env map[string]uint64) (uint64, error) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return evalConst(e.X, env)
	case *ast.BasicLit:
		return strconv.ParseUint(e.Value, 0, 64)
	case *ast.Ident:
		v, ok := env[e.Name]
		if !ok {
			return 0, fmt.Errorf("unbound name %s", e.Name)
		}
		return v, nil
	case *ast.BinaryExpr:
		x, err := evalConst(e.X, env)
		if err != nil {
			return 0, err
		}
		y, err := evalConst(e.Y, env)
		if err != nil {
			return 0, err
		}
		switch e.Op {
		case token.OR:
			return x | y, nil
		case token.AND:
			return x & y, nil
		case token.SHL:
			return x << y, nil
		case token.SHR:
			return x >> y, nil
		case token.ADD:
			return x + y, nil
		case token.SUB:
			return x - y, nil
		case token.MUL:
			return x * y, nil
		}
	}
	return 0, fmt.Errorf("unsupported expression %T", e)
}

// TestWordEncodings: every WORD in the arm64 assembly is the body of a
// macro `#define NAME(params) WORD $(expression)` whose preceding comment
// line is the instruction in Arm syntax with the parameters as register
// numbers (// FADD Vd.4S, Vn.4S, Vm.4S) or element index (Vm.S[i]). For
// every combination of register numbers from regValues (and every index
// 0…3) the macro's expression must give the encoder's word.
func TestWordEncodings(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sourceDir(), "*_arm64.s"))
	require.NoError(t, err)
	headers, err := filepath.Glob(filepath.Join(sourceDir(), "*_arm64.h"))
	require.NoError(t, err)
	files = append(files, headers...)
	require.NotEmpty(t, files, "no arm64 assembly found next to the test")
	macros, checked := 0, 0
	for _, name := range files {
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		lines := strings.Split(string(src), "\n")
		for i, text := range lines {
			code, _, _ := strings.Cut(text, "//")
			if !regexp.MustCompile(`\bWORD\b`).MatchString(code) {
				continue
			}
			where := fmt.Sprintf("%s:%d", name, i+1)
			m := wordMacroRx.FindStringSubmatch(text)
			if m == nil {
				t.Errorf("%s: WORD outside a `#define NAME(params) WORD $(expression)` macro: %q", where, text)
				continue
			}
			macros++
			var tmpl string
			if i > 0 {
				tmpl = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[i-1]), "//"))
			}
			if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "//") {
				t.Errorf("%s: WORD macro %s without the instruction as a comment on the line above", where, m[1])
				continue
			}
			expr, err := parser.ParseExpr(m[3])
			if err != nil {
				t.Errorf("%s: %s: %v", where, m[1], err)
				continue
			}
			var params []string
			for _, p := range strings.Split(m[2], ",") {
				params = append(params, strings.TrimSpace(p))
			}
			mn, _, _ := strings.Cut(tmpl, " ")
			if (strings.EqualFold(mn, "FMLA") || strings.EqualFold(mn, "FMLS")) && !strings.Contains(tmpl, "[") {
				t.Errorf("%s: %s by vector is V%s in the Go assembler; use it instead of WORD", where, mn, strings.ToUpper(mn))
			}
			isIdx := map[string]bool{}
			for _, s := range templateIdxRx.FindAllStringSubmatch(tmpl, -1) {
				isIdx[s[1]] = true
			}
			env := map[string]uint64{}
			var walk func(k int) bool
			walk = func(k int) bool {
				if k == len(params) {
					text := templateRegRx.ReplaceAllStringFunc(tmpl, func(s string) string {
						sm := templateRegRx.FindStringSubmatch(s)
						if v, ok := env[sm[2]]; ok {
							return fmt.Sprintf("%s%d", sm[1], v)
						}
						return s
					})
					text = templateIdxRx.ReplaceAllStringFunc(text, func(s string) string {
						return fmt.Sprintf("[%d]", env[templateIdxRx.FindStringSubmatch(s)[1]])
					})
					want, err := encodeA64(text)
					if err != nil {
						t.Errorf("%s: %s: %v", where, m[1], err)
						return false
					}
					got, err := evalConst(expr, env)
					if err != nil {
						t.Errorf("%s: %s: %v", where, m[1], err)
						return false
					}
					checked++
					if got != uint64(want) {
						t.Errorf("%s: %s%v gives $0x%08x but %s encodes as $0x%08x", where, m[1], env, got, text, want)
						return false
					}
					return true
				}
				vals := regValues
				if isIdx[params[k]] {
					vals = []uint64{0, 1, 2, 3}
				}
				for _, v := range vals {
					env[params[k]] = v
					if !walk(k + 1) {
						return false
					}
				}
				return true
			}
			walk(0)
		}
	}
	require.Greater(t, macros, 0, "no WORD macros found: is the file list right?")
	t.Logf("%d WORD macros checked in %v (%d operand combinations)", macros, files, checked)
}
