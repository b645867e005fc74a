/** The Zoom simulator lives in tools/zoom-simulator/ (the sandbox uses it too); tests import it from here. */
export * from '../../tools/zoom-simulator/simulator';
