export * from '../devices/device-directory';
