// Package codec encrypts every Temporal payload (workflow input, state, activity arguments and
// results, messages) with AES-256-GCM, so that buyer names, phone numbers and e-mail addresses
// never reach workflow history in clear. The Web UI and the temporal CLI decrypt through the
// codec HTTP endpoint (HTTPHandler), which must stay on a private network: whoever can call it
// can decrypt.
//
// Keys carry an ID stored with each payload, so keys can be rotated: the first key encrypts,
// every listed key decrypts. Payloads that were never encrypted (for example a workflow started
// from a UI without the codec endpoint) pass through Decode unchanged.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

const (
	// MetadataEncoding is the payload encoding of encrypted payloads.
	MetadataEncoding = "binary/encrypted"
	// metadataKeyID names the key a payload was encrypted with.
	metadataKeyID = "encryption-key-id"
	// MetadataPlaintext marks a payload the codec leaves in clear (see Plaintext).
	MetadataPlaintext = "paycycle-plaintext"
	keySize           = 32
)

// Key is one AES-256 key and its ID.
type Key struct {
	ID     string
	Secret []byte
}

// String hides the secret.
func (k Key) String() string { return "codec.Key{" + k.ID + "}" }

// GoString hides the secret.
func (k Key) GoString() string { return k.String() }

// ParseKeys parses "id:base64key[,id:base64key...]"; the first key encrypts.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, enc, ok := strings.Cut(part, ":")
		if !ok || id == "" {
			return nil, errors.New(`codec key must be "id:base64" (32 bytes of key material)`)
		}
		secret, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(secret) != keySize {
			return nil, fmt.Errorf("codec key %q must be 32 bytes, base64-encoded", id)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("no codec key given")
	}
	return keys, nil
}

// NewKeyString returns a fresh random key in ParseKeys format, for local setups.
func NewKeyString(id string) (string, error) {
	b := make([]byte, keySize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(b), nil
}

// Codec is an AES-256-GCM converter.PayloadCodec.
type Codec struct {
	current string
	aeads   map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec that encrypts with keys[0] and decrypts with any of keys.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: no key")
	}
	c := &Codec{current: keys[0].ID, aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if len(k.Secret) != keySize {
			return nil, fmt.Errorf("codec: key %q must be 32 bytes", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// Encode encrypts each payload whole (metadata and data), so not even the original encoding leaks.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.current]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataPlaintext]) == "true" {
			out[i] = p
			continue
		}
		plain, err := p.Marshal()
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncoding),
				metadataKeyID:              []byte(c.current),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(c.current)),
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads and passes others through.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[metadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload encrypted with unknown key %q", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, errors.New("codec: encrypted payload too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload does not decrypt with key %q", id)
		}
		var dec commonpb.Payload
		if err := dec.Unmarshal(plain); err != nil {
			return nil, err
		}
		out[i] = &dec
	}
	return out, nil
}

// Plaintext is implemented by types whose values carry no personal data and that people read
// without the codec: billing.Receipt, the answer of every update, which `temporal workflow
// update execute` prints and which without this failed with "payload encoding is not
// supported" after the update had been applied (a refund made, the CLI exiting 1).
type Plaintext interface {
	// PlaintextPayload marks the type; it is never called.
	PlaintextPayload()
}

// plaintextConverter writes Plaintext values as ordinary JSON marked MetadataPlaintext, so
// that Encode leaves them alone; everything else it declines (nil), and the next converter of
// the chain takes it. Reading is the JSON converter's, so old encrypted receipts still decode.
type plaintextConverter struct {
	json *converter.JSONPayloadConverter
}

func (p plaintextConverter) ToPayload(v any) (*commonpb.Payload, error) {
	if _, ok := v.(Plaintext); !ok {
		return nil, nil
	}
	pl, err := p.json.ToPayload(v)
	if err != nil || pl == nil {
		return pl, err
	}
	pl.Metadata[MetadataPlaintext] = []byte("true")
	return pl, nil
}

func (p plaintextConverter) FromPayload(pl *commonpb.Payload, v any) error {
	return p.json.FromPayload(pl, v)
}

func (p plaintextConverter) ToString(pl *commonpb.Payload) string { return p.json.ToString(pl) }

// Encoding is only this converter's key in the composite converter's table (which is keyed by
// encoding, so it must differ from the JSON converter's). The payloads it writes say
// json/plain, so they are read by the JSON converter, here and in any CLI or SDK.
func (p plaintextConverter) Encoding() string { return "paycycle/plaintext-json" }

// PayloadConverter is Temporal's default converter chain with Plaintext values marked, and no
// encryption: DataConverter wraps it with the codec.
func PayloadConverter() converter.DataConverter {
	return converter.NewCompositeDataConverter(
		converter.NewNilPayloadConverter(),
		converter.NewByteSlicePayloadConverter(),
		plaintextConverter{json: converter.NewJSONPayloadConverter()},
		converter.NewProtoJSONPayloadConverter(),
		converter.NewProtoPayloadConverter(),
		converter.NewJSONPayloadConverter(),
	)
}

// DataConverter is PayloadConverter with every payload encrypted except Plaintext values.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(PayloadConverter(), c)
}

// FailureConverter keeps failure messages and stack traces readable (EncodeCommonAttributes
// off) while failure details still go through the encrypting converter. With the attributes
// encoded, the Web UI and `temporal workflow describe/show` show only "Encoded failure" for a
// refused update, a wrong workflow type or a failing activity, even with the codec endpoint:
// neither decodes encoded failure attributes in the places people look. This is safe because
// of a rule the project keeps: a failure message never carries personal data (the workflow's
// errors name fields and reasons, the PortOne client masks customer_uid), so buyer data stays
// encrypted in inputs, state, messages and results.
func (c *Codec) FailureConverter() converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: c.DataConverter()})
}
