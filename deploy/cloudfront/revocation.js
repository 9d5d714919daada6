// cdn-gateway: refuse revoked grants before CloudFront serves them (docs/design.md, "Revocation").
// Viewer request, runtime cloudfront-js-2.0, with the stack's KeyValueStore associated.
// A revocable grant's custom policy carries its tag in DateGreaterThan (TAG_EPOCH + tag); the
// store holds each revoked tag with the epoch second until which it stays revoked.  The policy
// read here is the one CloudFront then verifies: a viewer who alters it fails the signature
// check, so only a policy the gateway signed can pass both.  Anything undecodable is left to
// CloudFront's own verification.  The same rules as gateway/edge/revocation.py, tested against
// the same vectors (tests/edge/test_revocation_function.py).
import cf from 'cloudfront';

const kvs = cf.kvs();
const TAG_EPOCH = 978307200;
const MAX_TAG = 536870911;
const SIGNING = ['Expires', 'Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm'];
const DENIED = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>' +
    '<Message>Access denied</Message></Error>';

function values(entry) {
    if (!entry) {
        return [];
    }
    if (entry.multiValue && entry.multiValue.length) {
        return entry.multiValue.map(function (one) { return one.value; });
    }
    return [entry.value];
}

// A query parameter's name as the local edge reads it (gateway/signing/verify.py): percent-decoded
// when that is valid UTF-8, else as sent.  A viewer may spell `Policy` as `%50olicy`.
function decodeName(name) {
    try {
        return decodeURIComponent(name);
    } catch (e) {
        return name;
    }
}

// [decoded name, raw value] for each '&'-separated part of the query as the viewer sent it.
// rawQueryString() (runtime 2.0, "General helper methods", CloudFront Developer Guide) gives the
// unparsed query, so the function splits and decodes it exactly as the local edge does.
function rawPairs(raw) {
    if (!raw) {
        return [];
    }
    return raw.split('&').map(function (part) {
        const at = part.indexOf('=');
        const name = at < 0 ? part : part.slice(0, at);
        return [decodeName(name), at < 0 ? '' : part.slice(at + 1)];
    });
}

function isSigning(name) {
    return SIGNING.indexOf(name) >= 0;
}

// The policies CloudFront will judge: the URL's when any signing parameter is in the query
// (a signed URL), else every CloudFront-Policy cookie (a browser may send several sets).
function policies(request) {
    const cookies = values((request.cookies || {})['CloudFront-Policy']);
    if (typeof request.rawQueryString === 'function') {
        const pairs = rawPairs(request.rawQueryString());
        if (!pairs.some(function (pair) { return isSigning(pair[0]); })) {
            return cookies;
        }
        return pairs.filter(function (pair) { return pair[0] === 'Policy'; })
            .map(function (pair) { return pair[1]; });
    }
    // Without the raw query, the parsed one: whether its names arrive decoded or as sent is not
    // documented, so a name counts as spelled and as decoded, and when the two readings disagree
    // on whether the URL is signed, the cookies are judged as well (refusing more, never less).
    const query = request.querystring || {};
    let signed = false;
    let ambiguous = false;
    const found = [];
    Object.keys(query).forEach(function (name) {
        const decoded = decodeName(name);
        signed = signed || isSigning(name) || isSigning(decoded);
        ambiguous = ambiguous || isSigning(name) !== isSigning(decoded);
        if (name === 'Policy' || decoded === 'Policy') {
            values(query[name]).forEach(function (value) { found.push(value); });
        }
    });
    return !signed ? cookies : ambiguous ? found.concat(cookies) : found;
}

function decode(text) {
    // CloudFront's base64: '-' for '+', '_' for '=', '~' for '/'.  A value may arrive
    // percent-encoded; the alphabet itself never holds '%'.
    let raw = text;
    if (raw.indexOf('%') >= 0) {
        raw = decodeURIComponent(raw);
    }
    if (!/^[A-Za-z0-9\-_~]+$/.test(raw)) {
        return null;
    }
    const standard = raw.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/');
    return Buffer.from(standard, 'base64').toString('utf8');
}

function tagOf(text) {
    let doc;
    try {
        doc = JSON.parse(decode(text));
    } catch (e) {
        return null;
    }
    if (!doc || !Array.isArray(doc.Statement) || doc.Statement.length !== 1) {
        return null;
    }
    const condition = doc.Statement[0] && doc.Statement[0].Condition;
    const after = condition && condition.DateGreaterThan;
    const epoch = after && after['AWS:EpochTime'];
    if (typeof epoch !== 'number' || !Number.isInteger(epoch)) {
        return null;
    }
    const tag = epoch - TAG_EPOCH;
    return tag >= 2 && tag <= MAX_TAG ? tag : null;
}

// A store that cannot be read throws, the function fails and CloudFront answers with an error:
// closed.  get() throws for a missing key too, so exists() is asked first.
async function revoked(tag, now) {
    const key = String(tag);
    if (!(await kvs.exists(key))) {
        return false;
    }
    return now < Number(await kvs.get(key));
}

async function handler(event) {
    const request = event.request;
    const now = Math.floor(Date.now() / 1000);
    const found = policies(request);
    for (let i = 0; i < found.length; i++) {
        const tag = tagOf(found[i]);
        if (tag !== null && await revoked(tag, now)) {
            return {
                statusCode: 403,
                statusDescription: 'Forbidden',
                headers: { 'content-type': { value: 'text/xml' } },
                body: { encoding: 'text', data: DENIED },
            };
        }
    }
    return request;
}
