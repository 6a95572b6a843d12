"use strict";
// The worker image's entry point (its command is `node dist/workers/index.js`): the same
// worker code that the backend image carries at dist/src/workers/index.js.
require("../src/workers/index.js");
