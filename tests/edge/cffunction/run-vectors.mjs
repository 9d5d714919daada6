// Runs the revocation function under node against vectors read from stdin (tests only):
// [{"request": <CloudFront Functions request>, "store": {tag: until}, "now": epoch, "raw": query}, ...]
// With "raw" (a string), the request gets rawQueryString() as runtime 2.0 gives it; without, it
// has only the parsed querystring object.
// prints one answer per vector: "allow", or the status, type and body the function answered with.
import { setStore } from 'cloudfront';
import { handler } from './function.mjs';

const chunks = [];
for await (const chunk of process.stdin) {
    chunks.push(chunk);
}
const vectors = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const answers = [];
for (const vector of vectors) {
    setStore(vector.store);
    Date.now = () => vector.now * 1000;
    if (typeof vector.raw === 'string') {
        const raw = vector.raw;
        vector.request.rawQueryString = function () { return raw; };
    }
    let result;
    try {
        result = await handler({ version: '1.0', context: { eventType: 'viewer-request' }, request: vector.request });
    } catch (e) {
        answers.push('error'); // the function failed: CloudFront answers with an error, never the object
        continue;
    }
    if (result && result.statusCode !== undefined) {
        answers.push({ status: result.statusCode, type: result.headers['content-type'].value, body: result.body.data });
    } else {
        answers.push('allow');
    }
}
process.stdout.write(JSON.stringify(answers));
