package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
)

// rawData is one of gqlgen's HTTP transports, writing each response's data as the executor
// (or graph.Resolver.RenderOfferwall) wrote it. gqlgen's transports json.Marshal the whole
// response, and encoding/json scans and copies a json.RawMessage again to compact it: data
// that is compact already, some 25 KB for a page of 50 offer cards and a sixth of that page's
// CPU. Everything else (headers, status codes, errors, extensions) is the transport's own.
//
// The only difference in the bytes: <, > and & inside strings are sent as they are, where
// json.Marshal escaped them (\u003c...); both are the same JSON, and the answers are JSON
// with nosniff, never HTML.
//
// It is made for gqlgen's GET and POST transports, which write one response in one piece.
type rawData struct{ graphql.Transport }

func (t rawData) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	s := &dataSplicer{ResponseWriter: w}
	t.Transport.Do(s, r, dataHolder{GraphExecutor: exec, s: s})
}

// dataHolder hands the transport each response without its errors and data, which it keeps
// for the splicer: the transport then writes {"data":null followed by the rest of the
// response, in the order of graphql.Response's fields.
type dataHolder struct {
	graphql.GraphExecutor
	s *dataSplicer
}

func (e dataHolder) DispatchOperation(ctx context.Context, oc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	next, ctx := e.GraphExecutor.DispatchOperation(ctx, oc)
	return func(ctx context.Context) *graphql.Response {
		resp := next(ctx)
		if resp == nil {
			return nil
		}
		e.s.held = resp
		rest := *resp
		rest.Errors, rest.Data = nil, nil
		return &rest
	}, ctx
}

// dataSplicer writes a held response's errors and data in place of the {"data":null that
// starts the transport's bytes for it.
type dataSplicer struct {
	http.ResponseWriter
	held *graphql.Response
}

var heldPrefix = []byte(`{"data":null`)

func (s *dataSplicer) Write(b []byte) (int, error) {
	resp := s.held
	if resp == nil {
		return s.ResponseWriter.Write(b)
	}
	s.held = nil
	if !bytes.HasPrefix(b, heldPrefix) {
		// A transport (or a gqlgen) that writes the response otherwise: all of it, marshalled.
		full, err := json.Marshal(resp)
		if err != nil {
			return 0, err
		}
		if _, err := s.ResponseWriter.Write(full); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	head := []byte(`{`)
	if len(resp.Errors) > 0 {
		errs, err := json.Marshal(resp.Errors)
		if err != nil {
			return 0, err
		}
		head = append(append(append(head, `"errors":`...), errs...), ',')
	}
	head = append(head, `"data":`...)
	data := resp.Data
	if len(data) == 0 {
		data = []byte("null")
	}
	for _, part := range [][]byte{head, data, b[len(heldPrefix):]} {
		if _, err := s.ResponseWriter.Write(part); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func (s *dataSplicer) Unwrap() http.ResponseWriter { return s.ResponseWriter }
