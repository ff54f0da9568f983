package service

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// request is a decoded POST /v1/certify body: n inputs of d0 pixels in x
// (float32, as the certifier takes them), and labels (nil, or −1 per
// input without one).
type request struct {
	batch  bool // the body used "batch" (answer with "certificates")
	n      int
	x      []float32
	labels []int
}

// requestError is a rejected request: the HTTP status and a message in
// the API's words.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// decoder reads a request body as it streams, enforcing the limits on the
// number of inputs and on each input's length while it reads: what it
// holds is bounded by the limits (MaxBatch·d0 float32 pixels, MaxBatch
// labels), never by what the body claims, and a body that breaks a limit
// is rejected at the byte where it does, without reading the rest. It
// accepts exactly the JSON the API documents: one object with the fields
// "pixels" and "label" or "batch" and "labels" (names as written: JSON is
// case-sensitive, and so is the API), numbers for pixels, integers for
// labels, null for an absent field, nothing after the object.
type decoder struct {
	r                     *bufio.Reader
	off                   int64 // bytes consumed
	d0, classes, maxBatch int
	tok                   []byte // the current number or string
}

// maxToken bounds a number's or a field name's length in bytes.
const maxToken = 1024

func newDecoder(r io.Reader, d0, classes, maxBatch int) *decoder {
	return &decoder{r: bufio.NewReaderSize(r, 32<<10), d0: d0, classes: classes, maxBatch: maxBatch, tok: make([]byte, 0, 64)}
}

func malformed(off int64, format string, args ...any) error {
	return &requestError{http.StatusBadRequest, fmt.Sprintf("malformed JSON at byte %d: ", off) + fmt.Sprintf(format, args...)}
}

func invalid(status int, format string, args ...any) error {
	return &requestError{status, fmt.Sprintf(format, args...)}
}

// readErr converts an error of the body's reader.
func (d *decoder) readErr(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return invalid(http.StatusRequestEntityTooLarge, "request body exceeds the limit of %d bytes", tooBig.Limit)
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		if d.off == 0 {
			return invalid(http.StatusBadRequest, "empty body: send a JSON object")
		}
		return invalid(http.StatusBadRequest, "malformed JSON: the body ends early (after %d bytes)", d.off)
	}
	return invalid(http.StatusBadRequest, "reading the body: %v", err)
}

func (d *decoder) next() (byte, error) {
	c, err := d.r.ReadByte()
	if err != nil {
		return 0, d.readErr(err)
	}
	d.off++
	return c, nil
}

// peek returns the next byte after whitespace without consuming it.
func (d *decoder) peek() (byte, error) {
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			return 0, d.readErr(err)
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			d.r.UnreadByte()
			return c, nil
		}
		d.off++
	}
}

// expect consumes whitespace and the byte c.
func (d *decoder) expect(c byte, what string) error {
	got, err := d.peek()
	if err != nil {
		return err
	}
	if got != c {
		return malformed(d.off, "%s, found %s", what, describe(got))
	}
	d.next()
	return nil
}

// describe names the JSON value a byte starts, for messages.
func describe(c byte) string {
	switch {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	case c >= 0x20 && c < 0x7f:
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// literal consumes the rest of a literal whose first byte was peeked.
func (d *decoder) literal(word string) error {
	start := d.off
	for i := 0; i < len(word); i++ {
		c, err := d.next()
		if err != nil {
			return err
		}
		if c != word[i] {
			return malformed(start, "invalid literal (want %s)", word)
		}
	}
	return nil
}

// null consumes null if it comes next.
func (d *decoder) null() (bool, error) {
	c, err := d.peek()
	if err != nil || c != 'n' {
		return false, err
	}
	return true, d.literal("null")
}

// number reads a JSON number into d.tok; integer says whether it has no
// fraction and no exponent.
func (d *decoder) number() (integer bool, err error) {
	start := d.off
	d.tok = d.tok[:0]
	digits := func() (int, error) {
		k := 0
		for {
			c, err := d.r.ReadByte()
			if err == io.EOF {
				return k, nil
			}
			if err != nil {
				return k, d.readErr(err)
			}
			if c < '0' || c > '9' {
				d.r.UnreadByte()
				return k, nil
			}
			if len(d.tok) == maxToken {
				return k, malformed(start, "number longer than %d bytes", maxToken)
			}
			d.tok = append(d.tok, c)
			d.off++
			k++
		}
	}
	opt := func(set string) (bool, error) {
		c, err := d.r.ReadByte()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, d.readErr(err)
		}
		for i := 0; i < len(set); i++ {
			if c == set[i] {
				d.tok = append(d.tok, c)
				d.off++
				return true, nil
			}
		}
		d.r.UnreadByte()
		return false, nil
	}
	if _, err := opt("-"); err != nil {
		return false, err
	}
	intStart := len(d.tok)
	k, err := digits()
	if err != nil {
		return false, err
	}
	if k == 0 || k > 1 && d.tok[intStart] == '0' {
		return false, malformed(start, "invalid number")
	}
	integer = true
	if dot, err := opt("."); err != nil {
		return false, err
	} else if dot {
		integer = false
		if k, err := digits(); err != nil {
			return false, err
		} else if k == 0 {
			return false, malformed(start, "invalid number")
		}
	}
	if e, err := opt("eE"); err != nil {
		return false, err
	} else if e {
		integer = false
		if _, err := opt("+-"); err != nil {
			return false, err
		}
		if k, err := digits(); err != nil {
			return false, err
		} else if k == 0 {
			return false, malformed(start, "invalid number")
		}
	}
	return integer, nil
}

// key reads a field name (a JSON string, escapes allowed).
func (d *decoder) key() (string, error) {
	if err := d.expect('"', `want a field name ("pixels", "label", "batch" or "labels")`); err != nil {
		return "", err
	}
	start := d.off - 1
	d.tok = append(d.tok[:0], '"')
	escaped := false
	for {
		c, err := d.next()
		if err != nil {
			return "", err
		}
		if len(d.tok) == maxToken {
			return "", malformed(start, "field name longer than %d bytes", maxToken)
		}
		d.tok = append(d.tok, c)
		switch {
		case c < 0x20:
			return "", malformed(d.off-1, "control character in a string")
		case c == '\\':
			escaped = true
			c, err := d.next()
			if err != nil {
				return "", err
			}
			d.tok = append(d.tok, c)
		case c == '"':
			if !escaped {
				return string(d.tok[1 : len(d.tok)-1]), nil
			}
			var s string
			if err := json.Unmarshal(d.tok, &s); err != nil {
				return "", malformed(start, "invalid string: %v", err)
			}
			return s, nil
		}
	}
}

// end checks that nothing but whitespace follows the object.
func (d *decoder) end() error {
	for {
		c, err := d.r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return d.readErr(err)
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			if c == '{' || c == '[' || c == '"' || c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n' {
				return malformed(d.off, "more than one JSON value in the body (send one object)")
			}
			return malformed(d.off, "%s after the object", describe(c))
		}
		d.off++
	}
}

// decode reads the whole request.
func (d *decoder) decode() (*request, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if c != '{' {
		return nil, malformed(d.off, "the body must be a JSON object, found %s", describe(c))
	}
	d.next()
	req := &request{}
	var pixels, batch, label, labels bool // fields seen
	single := -1
	for first := true; ; first = false {
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c == '}' && first {
			d.next()
			break
		}
		at := d.off
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if err := d.expect(':', "want ':' after a field name"); err != nil {
			return nil, err
		}
		var seen *bool
		switch k {
		case "pixels":
			seen = &pixels
		case "batch":
			seen = &batch
		case "label":
			seen = &label
		case "labels":
			seen = &labels
		default:
			return nil, malformed(at, "unknown field %q (a request has \"pixels\" and \"label\", or \"batch\" and \"labels\")", k)
		}
		if *seen {
			return nil, malformed(at, "field %q appears twice", k)
		}
		*seen = true
		if null, err := d.null(); err != nil {
			return nil, err
		} else if null {
			*seen = false
		} else {
			switch k {
			case "pixels":
				if batch {
					return nil, invalid(http.StatusUnprocessableEntity, `give either "pixels" (one input) or "batch" (several), not both`)
				}
				err = d.input(req, 0, `"pixels"`)
				req.n = 1
			case "batch":
				if pixels {
					return nil, invalid(http.StatusUnprocessableEntity, `give either "pixels" (one input) or "batch" (several), not both`)
				}
				err = d.batch(req)
			case "label":
				single, err = d.label(0)
			case "labels":
				err = d.labelList(req)
			}
			if err != nil {
				return nil, err
			}
		}
		c, err = d.peek()
		if err != nil {
			return nil, err
		}
		d.next()
		if c == '}' {
			break
		}
		if c != ',' {
			return nil, malformed(d.off-1, "want ',' or '}' after a field's value, found %s", describe(c))
		}
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	switch {
	case pixels:
		if labels {
			return nil, invalid(http.StatusUnprocessableEntity, `"labels" goes with "batch"; use "label" with "pixels"`)
		}
		if label {
			req.labels = []int{single}
		}
	case batch:
		if label {
			return nil, invalid(http.StatusUnprocessableEntity, `"label" goes with "pixels"; use "labels" with "batch"`)
		}
		if req.n == 0 {
			return nil, invalid(http.StatusUnprocessableEntity, `"batch" is empty`)
		}
		if labels && len(req.labels) != req.n {
			return nil, invalid(http.StatusUnprocessableEntity, "%d labels for %d inputs", len(req.labels), req.n)
		}
	default:
		return nil, invalid(http.StatusUnprocessableEntity, `the body needs "pixels" (one input of %d values) or "batch" (a list of them)`, d.d0)
	}
	return req, nil
}

// input reads input i, an array of d0 numbers in [0,1], onto req.x.
func (d *decoder) input(req *request, i int, what string) error {
	if c, err := d.peek(); err != nil {
		return err
	} else if c != '[' {
		return malformed(d.off, "%s must be an array of %d numbers, found %s", what, d.d0, describe(c))
	}
	d.next()
	if need := (i + 1) * d.d0; cap(req.x) < need {
		// Grow geometrically, up to the limit.
		nx := make([]float32, len(req.x), min(max(2*cap(req.x), need), d.maxBatch*d.d0))
		copy(nx, req.x)
		req.x = nx
	}
	p := 0
	for {
		c, err := d.peek()
		if err != nil {
			return err
		}
		if c == ']' && p == 0 {
			d.next()
			break
		}
		if c != '-' && (c < '0' || c > '9') {
			return malformed(d.off, "%s must be an array of numbers, found %s", what, describe(c))
		}
		at := d.off
		if _, err := d.number(); err != nil {
			return err
		}
		if p == d.d0 {
			return invalid(http.StatusUnprocessableEntity, "input %d has more than %d pixels, the model takes %d", i, d.d0, d.d0)
		}
		v, err := strconv.ParseFloat(string(d.tok), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return malformed(at, "invalid number")
		}
		if !(v >= 0 && v <= 1) {
			return invalid(http.StatusUnprocessableEntity, "input %d pixel %d is %s, want a value in [0,1]", i, p, d.tok)
		}
		req.x = append(req.x, float32(v))
		p++
		c, err = d.peek()
		if err != nil {
			return err
		}
		d.next()
		if c == ']' {
			break
		}
		if c != ',' {
			return malformed(d.off-1, "want ',' or ']' in %s, found %s", what, describe(c))
		}
	}
	if p != d.d0 {
		return invalid(http.StatusUnprocessableEntity, "input %d has %d pixels, the model takes %d", i, p, d.d0)
	}
	return nil
}

// batch reads "batch", an array of inputs.
func (d *decoder) batch(req *request) error {
	if err := d.expect('[', `"batch" must be an array of inputs`); err != nil {
		return err
	}
	req.batch = true
	return d.elements(`"batch"`, func(int) error {
		if req.n == d.maxBatch {
			return invalid(http.StatusRequestEntityTooLarge, "batch of more than %d inputs exceeds the limit of %d", d.maxBatch, d.maxBatch)
		}
		if err := d.input(req, req.n, fmt.Sprintf(`"batch" input %d`, req.n)); err != nil {
			return err
		}
		req.n++
		return nil
	})
}

// label reads the integer label of input i (−1: none).
func (d *decoder) label(i int) (int, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	if c != '-' && (c < '0' || c > '9') {
		return 0, malformed(d.off, "the label of input %d must be an integer, found %s", i, describe(c))
	}
	at := d.off
	integer, err := d.number()
	if err != nil {
		return 0, err
	}
	if !integer {
		return 0, malformed(at, "the label of input %d must be an integer, found %s", i, d.tok)
	}
	l, err := strconv.Atoi(string(d.tok))
	if err != nil || l < -1 || l >= d.classes {
		return 0, invalid(http.StatusUnprocessableEntity, "label %s of input %d is outside 0 … %d (or −1 for none)", d.tok, i, d.classes-1)
	}
	return l, nil
}

// labelList reads "labels", an array of at most MaxBatch integers.
func (d *decoder) labelList(req *request) error {
	if err := d.expect('[', `"labels" must be an array of integers`); err != nil {
		return err
	}
	req.labels = []int{}
	return d.elements(`"labels"`, func(n int) error {
		if n == d.maxBatch {
			return invalid(http.StatusRequestEntityTooLarge, "more than %d labels exceeds the batch limit of %d", d.maxBatch, d.maxBatch)
		}
		l, err := d.label(n)
		if err != nil {
			return err
		}
		req.labels = append(req.labels, l)
		return nil
	})
}

// elements reads the elements of a JSON array whose '[' has been read,
// calling elem(n) for element n (elem reads it), up to the closing ']':
// the one place that knows the separators (what names the array in
// errors). The pixels of an input keep their own loop (input): it is the
// decoder's hot loop, where this would add an indirect call per pixel.
func (d *decoder) elements(what string, elem func(n int) error) error {
	for n := 0; ; n++ {
		c, err := d.peek()
		if err != nil {
			return err
		}
		if c == ']' && n == 0 {
			d.next()
			return nil
		}
		if err := elem(n); err != nil {
			return err
		}
		c, err = d.peek()
		if err != nil {
			return err
		}
		d.next()
		if c == ']' {
			return nil
		}
		if c != ',' {
			return malformed(d.off-1, "want ',' or ']' in %s, found %s", what, describe(c))
		}
	}
}
