// Package service is the HTTP interface of lrrn's certifier, a thin layer
// over verify.Certifier that other programs can embed:
//
//	POST /v1/certify   {"pixels": [d_0 numbers in [0,1]], "label": 3}
//	                   {"batch": [[…], …], "labels": [3, −1, …]}
//	GET  /v1/model     the model, its certified bounds (ρ, its parts) and the SIMD tier
//	GET  /healthz      {"status": "ok"}
//
// Labels are optional (−1 or absent: certify the prediction). A single
// input is answered with {"certificate": {…}}, a batch with
// {"certificates": [{…}, …]} in input order (the record format of
// verify.Record). Errors are JSON, {"error": "…", "status": N}, with
// 400 for malformed JSON, 404 for an unknown path, 405 for a wrong method,
// 413 for a body or batch over the limits, 415 for a body that is not
// JSON, and 422 for well-formed requests with wrong content (length,
// values outside [0,1], labels).
package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/lrrn/lrrn/verify"
)

// Options limit what one request may ask for.
type Options struct {
	// MaxBodyBytes caps a request body; 0 means 16 MiB.
	MaxBodyBytes int64
	// MaxBatch caps the inputs of one request; 0 means 1024.
	MaxBatch int
}

// Handler serves the certifier. It is safe for concurrent use.
type Handler struct {
	c    *verify.Certifier
	opts Options
	info []byte // GET /v1/model, encoded once
	mux  *http.ServeMux
}

// New returns the handler for c.
func New(c *verify.Certifier, o Options) (*Handler, error) {
	if o.MaxBodyBytes < 0 || o.MaxBatch < 0 {
		return nil, fmt.Errorf("service: negative limit in %+v", o)
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 16 << 20
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 1024
	}
	info, err := json.Marshal(c.Info())
	if err != nil {
		return nil, err
	}
	h := &Handler{c: c, opts: o, info: append(info, '\n'), mux: http.NewServeMux()}
	h.mux.HandleFunc("/v1/certify", h.certify)
	h.mux.HandleFunc("/v1/model", h.model)
	h.mux.HandleFunc("/healthz", h.health)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint %s (try POST /v1/certify, GET /v1/model, GET /healthz)", r.URL.Path)
	})
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, errorBody{Error: fmt.Sprintf(format, args...), Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "encoding the response: " + err.Error(), Status: status})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method %s not allowed on %s (use %s)", r.Method, r.URL.Path, strings.Join(methods, " or "))
	return false
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	if allow(w, r, http.MethodGet, http.MethodHead) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

func (h *Handler) model(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(h.info)
}

// request is the body of POST /v1/certify.
type request struct {
	Pixels []float64   `json:"pixels"`
	Label  *int        `json:"label"`
	Batch  [][]float64 `json:"batch"`
	Labels []int       `json:"labels"`
}

type single struct {
	Certificate verify.Record `json:"certificate"`
}

type batch struct {
	Certificates []verify.Record `json:"certificates"`
}

func (h *Handler) certify(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "content type %q: send application/json, e.g. curl -H 'Content-Type: application/json' -d '{\"pixels\":[…]}' URL", ct)
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var req request
	if err := dec.Decode(&req); err != nil {
		h.decodeError(w, err)
		return
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		if err == nil {
			writeError(w, http.StatusBadRequest, "malformed JSON: more than one value in the body")
		} else {
			h.decodeError(w, err)
		}
		return
	}
	d0 := h.c.Model().Sizes[0]
	classes := h.c.Model().Sizes[h.c.Model().L()]
	var inputs [][]float64
	var labels []int
	isBatch := req.Batch != nil
	switch {
	case req.Pixels != nil && isBatch:
		writeError(w, http.StatusUnprocessableEntity, `give either "pixels" (one input) or "batch" (several), not both`)
		return
	case req.Pixels != nil:
		if req.Labels != nil {
			writeError(w, http.StatusUnprocessableEntity, `"labels" goes with "batch"; use "label" with "pixels"`)
			return
		}
		inputs = [][]float64{req.Pixels}
		l := -1
		if req.Label != nil {
			l = *req.Label
		}
		labels = []int{l}
	case isBatch:
		if req.Label != nil {
			writeError(w, http.StatusUnprocessableEntity, `"label" goes with "pixels"; use "labels" with "batch"`)
			return
		}
		if len(req.Batch) == 0 {
			writeError(w, http.StatusUnprocessableEntity, `"batch" is empty`)
			return
		}
		if len(req.Batch) > h.opts.MaxBatch {
			writeError(w, http.StatusRequestEntityTooLarge, "batch of %d inputs exceeds the limit of %d", len(req.Batch), h.opts.MaxBatch)
			return
		}
		inputs = req.Batch
		labels = req.Labels
		if labels != nil && len(labels) != len(inputs) {
			writeError(w, http.StatusUnprocessableEntity, "%d labels for %d inputs", len(labels), len(inputs))
			return
		}
	default:
		writeError(w, http.StatusUnprocessableEntity, `the body needs "pixels" (one input of %d values) or "batch" (a list of them)`, d0)
		return
	}
	for i, l := range labels {
		if l < -1 || l >= classes {
			writeError(w, http.StatusUnprocessableEntity, "label %d of input %d is outside 0 … %d (or −1 for none)", l, i, classes-1)
			return
		}
	}
	x := make([]float32, 0, len(inputs)*d0)
	for i, in := range inputs {
		if len(in) != d0 {
			writeError(w, http.StatusUnprocessableEntity, "input %d has %d pixels, the model takes %d", i, len(in), d0)
			return
		}
		for p, v := range in {
			if !(v >= 0 && v <= 1) {
				writeError(w, http.StatusUnprocessableEntity, "input %d pixel %d is %v, want a value in [0,1]", i, p, v)
				return
			}
			x = append(x, float32(v))
		}
	}
	certs := make([]verify.Certificate, len(inputs))
	if err := h.c.CertifyBatch(r.Context(), x, labels, certs); err != nil {
		if errors.Is(err, verify.ErrInput) {
			writeError(w, http.StatusUnprocessableEntity, "%v", err)
		} else {
			// The client went away or the server is stopping.
			writeError(w, http.StatusServiceUnavailable, "certification interrupted: %v", err)
		}
		return
	}
	if !isBatch {
		writeJSON(w, http.StatusOK, single{verify.NewRecord(0, certs[0])})
		return
	}
	out := batch{Certificates: make([]verify.Record, len(certs))}
	for i, c := range certs {
		out.Certificates[i] = verify.NewRecord(i, c)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) decodeError(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "request body exceeds the limit of %d bytes", tooBig.Limit)
	case errors.As(err, &syn):
		writeError(w, http.StatusBadRequest, "malformed JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		writeError(w, http.StatusBadRequest, "malformed request: field %q: got %s, want %s", typ.Field, typ.Value, typ.Type)
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "empty body: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, http.StatusBadRequest, "malformed JSON: the body ends early")
	default:
		writeError(w, http.StatusBadRequest, "malformed request: %v", err)
	}
}
