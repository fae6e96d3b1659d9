package crypto

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Sealed streams: a file too large to seal in one piece (an export, a
// backup) is sealed in chunks, so that it is written and read with memory
// that does not depend on its size.
//
// Format, version 1:
//
//	magic   "LCS1"                            4 bytes
//	frame*  flag (1 byte: 0 more, 1 last)
//	        length of sealed (uint32, big endian)
//	        sealed = KeyRing.Seal(chunk, ad)
//	ad      = name + "\x00" + decimal chunk index + "\x00" + flag byte
//
// Every chunk but the last holds exactly StreamChunkSize bytes of
// plaintext; the last holds the rest (possibly nothing), so an empty
// stream is the magic and one frame. The associated data binds each chunk
// to its stream (name, e.g. "export:<id>"), its place and whether it is
// the last: chunks cannot be moved between streams, reordered, dropped, or
// cut off at the end without Open failing. Each sealed chunk names its key,
// so a stream stays readable after the key ring is rotated.

// StreamChunkSize is the plaintext size of each chunk but the last.
const StreamChunkSize = 64 << 10

const (
	streamMagic    = "LCS1"
	frameMore      = 0
	frameLast      = 1
	frameHeader    = 5
	maxSealedChunk = StreamChunkSize + 64 // plaintext, key prefix, nonce and tag, with room to spare
)

// ErrStreamCorrupt means a sealed stream was truncated, reordered,
// tampered with, or belongs to another name.
var ErrStreamCorrupt = errors.New("sealed stream is corrupt")

func chunkAD(name string, index uint64, flag byte) []byte {
	ad := make([]byte, 0, len(name)+24)
	ad = append(ad, name...)
	ad = append(ad, 0)
	ad = strconv.AppendUint(ad, index, 10)
	return append(ad, 0, flag)
}

// SealWriter seals what is written to it into a sealed stream. Close seals
// the last chunk; without it the stream is incomplete and will not open.
type SealWriter struct {
	w     io.Writer
	keys  *KeyRing
	name  string
	buf   []byte
	index uint64
	err   error
}

// NewSealWriter returns a writer that seals into w a stream named name.
// It writes the magic at once.
func NewSealWriter(w io.Writer, keys *KeyRing, name string) (*SealWriter, error) {
	if _, err := io.WriteString(w, streamMagic); err != nil {
		return nil, fmt.Errorf("crypto: seal stream: %w", err)
	}
	return &SealWriter{w: w, keys: keys, name: name, buf: make([]byte, 0, StreamChunkSize)}, nil
}

// Write buffers p, sealing each full chunk once more data follows it.
func (s *SealWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := 0
	for len(p) > 0 {
		if len(s.buf) == StreamChunkSize {
			// More follows, so the buffered chunk is not the last.
			if err := s.flush(frameMore); err != nil {
				return n, err
			}
		}
		k := copy(s.buf[len(s.buf):StreamChunkSize], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
		n += k
	}
	return n, nil
}

// Close seals the last chunk. It does not close the underlying writer.
func (s *SealWriter) Close() error {
	if s.err != nil {
		return s.err
	}
	if err := s.flush(frameLast); err != nil {
		return err
	}
	s.err = errors.New("crypto: seal stream: write after close")
	return nil
}

func (s *SealWriter) flush(flag byte) error {
	sealed, err := s.keys.Seal(s.buf, chunkAD(s.name, s.index, flag))
	if err == nil {
		var hdr [frameHeader]byte
		hdr[0] = flag
		binary.BigEndian.PutUint32(hdr[1:], uint32(len(sealed)))
		if _, err = s.w.Write(hdr[:]); err == nil {
			_, err = s.w.Write(sealed)
		}
	}
	if err != nil {
		s.err = fmt.Errorf("crypto: seal stream: %w", err)
		return s.err
	}
	s.index++
	s.buf = s.buf[:0]
	return nil
}

// OpenReader reads the plaintext of a sealed stream. Read returns an error
// wrapping ErrStreamCorrupt as soon as a chunk does not open, and at the
// end if the last chunk is missing; the plaintext read before is
// authentic but incomplete.
type OpenReader struct {
	r     *bufio.Reader
	keys  *KeyRing
	name  string
	index uint64
	buf   []byte // opened plaintext not yet read
	last  bool
	err   error
	frame []byte
}

// NewOpenReader returns a reader of the sealed stream named name in r.
func NewOpenReader(r io.Reader, keys *KeyRing, name string) *OpenReader {
	return &OpenReader{r: bufio.NewReaderSize(r, 32<<10), keys: keys, name: name}
}

func (o *OpenReader) corrupt(format string, args ...any) error {
	return fmt.Errorf("crypto: open stream: %w: "+format, append([]any{ErrStreamCorrupt}, args...)...)
}

// Read reads plaintext.
func (o *OpenReader) Read(p []byte) (int, error) {
	for len(o.buf) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		o.err = o.nextChunk()
	}
	n := copy(p, o.buf)
	o.buf = o.buf[n:]
	return n, nil
}

// nextChunk opens the next chunk into o.buf, or returns io.EOF after the
// last one.
func (o *OpenReader) nextChunk() error {
	if o.index == 0 && !o.last && o.frame == nil {
		var magic [len(streamMagic)]byte
		if _, err := io.ReadFull(o.r, magic[:]); err != nil {
			return o.corrupt("no header: %v", err)
		}
		if string(magic[:]) != streamMagic {
			return o.corrupt("not a sealed stream")
		}
		o.frame = make([]byte, 0, maxSealedChunk)
	}
	if o.last {
		if _, err := o.r.ReadByte(); err != io.EOF {
			return o.corrupt("data after the last chunk")
		}
		return io.EOF
	}
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(o.r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return o.corrupt("truncated after chunk %d", o.index)
		}
		return fmt.Errorf("crypto: open stream: %w", err)
	}
	flag, size := hdr[0], binary.BigEndian.Uint32(hdr[1:])
	if flag != frameMore && flag != frameLast || size > maxSealedChunk {
		return o.corrupt("bad frame header at chunk %d", o.index)
	}
	o.frame = o.frame[:size]
	if _, err := io.ReadFull(o.r, o.frame); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return o.corrupt("truncated in chunk %d", o.index)
		}
		return fmt.Errorf("crypto: open stream: %w", err)
	}
	pt, err := o.keys.Open(o.frame, chunkAD(o.name, o.index, flag))
	if err != nil {
		return o.corrupt("chunk %d: %v", o.index, err)
	}
	if flag == frameMore && len(pt) != StreamChunkSize {
		return o.corrupt("chunk %d is short", o.index)
	}
	o.index++
	o.last = flag == frameLast
	o.buf = pt
	return nil
}
