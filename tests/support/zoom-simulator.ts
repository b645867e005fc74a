/** The Zoom simulator lives in services/zoom-simulator/ (the sandbox uses it too); tests import it from here. */
export * from '../../services/zoom-simulator/simulator';
