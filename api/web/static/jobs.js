// The jobs list is plain links; this only tells tests the page is ready.
'use strict';
document.body.dataset.ready = '1';
