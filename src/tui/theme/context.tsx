import { createContext, useContext } from 'react';
import { themeFor, type Theme } from './theme.js';

const ThemeContext = createContext<Theme>(themeFor({}));

/** Provides the theme to every panel. */
export const ThemeProvider = ThemeContext.Provider;

/** The current theme. */
export function useTheme(): Theme {
  return useContext(ThemeContext);
}
