export * from './details';
export * from './envelope';
export * from './limits';
export * from './metadata';
export * from './names';
export * from './rules';
