// Test double for CloudFront Functions' `cloudfront` module (tests only; never deployed): kvs()
// reads a plain object set by the test harness, and get() rejects a missing key as the real one
// does ("Helper methods for key value stores", CloudFront Developer Guide).
let store = {};

// null: a store that cannot be read (every call rejects).
export function setStore(entries) {
    store = entries;
}

export default {
    kvs() {
        return {
            async exists(key) {
                if (store === null) {
                    throw new Error('KeyValueStore unavailable');
                }
                return Object.prototype.hasOwnProperty.call(store, key);
            },
            async get(key) {
                if (!Object.prototype.hasOwnProperty.call(store, key)) {
                    throw new Error('key not found: ' + key);
                }
                return store[key];
            },
        };
    },
};
