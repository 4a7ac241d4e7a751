// The sign-in page needs no script; this file exists so that every page
// loads its own script the same way.
'use strict';
